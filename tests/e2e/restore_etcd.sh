#!/usr/bin/env bash
# restore_etcd: tests/e2e/restore.sh with the controller on etcd, the backup restored
# over the running controller (`vpcfwd-controller --restore` while it serves): the
# gateways load a snapshot, the learner relearns, none keeps a rule of the lost history.
#
#	BUILD=build bash tests/e2e/restore_etcd.sh		(as root)
STORE=etcd exec bash "$(dirname "${BASH_SOURCE[0]}")/restore.sh"
