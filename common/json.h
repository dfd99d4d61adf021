/*
 * json: jansson helpers for the tools' --json output. Building a document either works
 * or the tool exits (errx, status 1) saying so: there is never a partial document to
 * print, so the callers need no error paths. Not for the daemons, which must not exit,
 * except json_utf8_repair, which never fails.
 */
#ifndef COMMON_JSON_H
#define COMMON_JSON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/*
 * jansson integers are signed 64-bit: a value above INT64_MAX (a gauge that holds a
 * negative number cast to u64, say) is given as a JSON real, the nearest double. NULL
 * when out of memory, as any jansson constructor.
 */
json_t *json_u64(uint64_t v);
/* j itself; exits when it is NULL (what a jansson constructor returns on failure). */
json_t *json_checked(json_t *j);
/* Append v to the array a, which takes the reference; exits when v is NULL or on failure. */
void json_push(json_t *a, json_t *v);
/* Write doc to f, indented by 2, and a newline, then free it; exits when it cannot. */
void json_print(FILE *f, json_t *doc);

/*
 * src as UTF-8 jansson accepts, into dst (NUL-terminated, at most len - 1 bytes, cut
 * between characters): each byte that is not part of a well-formed sequence (stray
 * continuation, overlong form, surrogate, above U+10FFFF, cut short) becomes U+FFFD.
 * Returns the length written. For text from the network on its way into a document.
 */
size_t json_utf8_repair(char *dst, size_t len, const char *src);

#endif
