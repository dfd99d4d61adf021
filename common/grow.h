/*
 * grow: room for one more element in a heap array that doubles as it fills.
 */
#ifndef COMMON_GROW_H
#define COMMON_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Make room for element n (0-based) of `size` bytes in the array at *(void **)arrp,
 * which holds *cap: doubled when full, `first` elements when empty. 0, or -ENOMEM with
 * the array kept as it was.
 */
static inline int
grow(void *arrp, size_t *cap, size_t n, size_t size, size_t first)
{
	void **pp = arrp, *q;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? 2 * *cap : first;
	if (c > SIZE_MAX / size || (q = realloc(*pp, c * size)) == NULL)
		return -ENOMEM;
	*pp = q;
	*cap = c;
	return 0;
}

#endif
