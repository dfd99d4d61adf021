#!/usr/bin/env bash
# controller_etcd: tests/controller.sh with the controller's store on etcd (one member in
# the test's namespace; docs/cluster.md): the same listings, tables, faults and checks.
#
#	BUILD=build bash tests/controller_etcd.sh
STORE=etcd exec bash "$(dirname "${BASH_SOURCE[0]}")/controller.sh"
