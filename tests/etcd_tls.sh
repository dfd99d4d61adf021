#!/usr/bin/env bash
# etcd_tls: the controller's store on an etcd member that speaks TLS only and wants a
# client certificate (as a production etcd does; docs/cluster.md "Deploying"), in a
# namespace of its own:
#  1. with controller.etcd's ca, cert and key, the controller starts and a change is
#     committed (etcdctl, with the same files, reads it back);
#  2. without a client certificate, or trusting another CA, the controller refuses to
#     start, saying why, and nothing is written.
#
#	BUILD=build bash tests/etcd_tls.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init etcd_tls

RUN=t$$
NS=vpcfwd-$RUN
for b in vpcfwd-controller vpcfwdctl; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
command -v etcd >/dev/null || t_fail "etcd is not installed (make deps)"
t_node "$RUN-c1" "$RUN-c2" "$RUN-c3"
t_netns "$NS"

# A CA, the member's certificate (for 127.0.0.1) and a client's; another CA.
P=$T_OUT/pki
mkdir -p "$P"
cert()
{
	local name=$1 ca=$2 ext=$3

	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$P/$name.key" -subj "/CN=$name" -out "$P/$name.csr" 2>/dev/null
	openssl x509 -req -in "$P/$name.csr" -CA "$P/$ca.crt" -CAkey "$P/$ca.key" \
	    -CAcreateserial -days 2 -extfile <(printf '%s\n' "$ext") \
	    -out "$P/$name.crt" 2>/dev/null
	chmod 600 "$P/$name.key"
}
for ca in ca other; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	    -subj "/CN=$ca" -keyout "$P/$ca.key" -out "$P/$ca.crt" 2>/dev/null
done
cert member ca "subjectAltName=IP:127.0.0.1"$'\n'"extendedKeyUsage=serverAuth,clientAuth"
cert client ca "extendedKeyUsage=clientAuth"

URL=https://127.0.0.1:2379
t_spawn ETCD ip netns exec "$NS" etcd --name m0 --data-dir "$T_OUT/etcd" \
    --listen-client-urls "$URL" --advertise-client-urls "$URL" \
    --listen-peer-urls http://127.0.0.1:2380 \
    --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster m0=http://127.0.0.1:2380 --initial-cluster-state new \
    --cert-file "$P/member.crt" --key-file "$P/member.key" --client-cert-auth \
    --trusted-ca-file "$P/ca.crt" >"$T_OUT/etcd.log" 2>&1
ETCDCTL=(ip netns exec "$NS" etcdctl --endpoints "$URL" --cacert "$P/ca.crt"
    --cert "$P/client.crt" --key "$P/client.key")
t_until 20 "the member answering over TLS" "${ETCDCTL[@]}" endpoint health

# conf N CA CERT-LINES: controller N on the member, trusting CA, with those settings.
conf()
{
	cat <<EOF
node = "$RUN-c$1";
log_level = "info";
controller = {
	data_dir = "$T_OUT/c$1";
	api_socket = "$T_OUT/c$1.sock";
	listen = "127.0.0.1:$((7400 + $1))";
	tls = false;
	store = "etcd";
	etcd = {
		endpoints = ["$URL"];
		timeout = "2s";
		ca = "$P/$2.crt";
		$3
	};
};
EOF
}

# 1. Both ways authenticated: it works.
conf 1 ca "cert = \"$P/client.crt\"; key = \"$P/client.key\";" >"$T_OUT/c1.conf"
t_spawn C1 ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" -c "$T_OUT/c1.conf" \
    2>>"$T_OUT/c1.log"
up() { "$BUILD/bin/vpcfwdctl" -s "$T_OUT/c1.sock" vpc list >/dev/null; }
t_until 20 "controller 1's socket" up
"$BUILD/bin/vpcfwdctl" -s "$T_OUT/c1.sock" vpc create blue --vni 100 \
    --cidr 10.0.0.0/16 >/dev/null
[[ $("${ETCDCTL[@]}" get --prefix /vpcfwd/1/vpcs/ --keys-only | grep -c blue) == 1 ]] ||
	t_fail "the VPC is not in etcd"
echo "etcd over TLS with a client certificate: the controller committed a change"

# 2. No client certificate; another CA: refused at start, saying why.
refused()
{
	local n=$1 what=$2

	if ip netns exec "$NS" timeout 30 "$BUILD/bin/vpcfwd-controller" \
	    -c "$T_OUT/c$n.conf" 2>"$T_OUT/c$n.log"; then
		t_fail "a controller started $what"
	fi
	grep -q "etcd" "$T_OUT/c$n.log" || t_fail "the refusal ($what) does not name etcd:" \
	    "$(cat "$T_OUT/c$n.log")"
	echo "refused $what: $(grep -m1 error "$T_OUT/c$n.log" | sed 's/.*error: //')"
}
conf 2 ca "" >"$T_OUT/c2.conf"
refused 2 "without a client certificate"
conf 3 other "cert = \"$P/client.crt\"; key = \"$P/client.key\";" >"$T_OUT/c3.conf"
refused 3 "trusting another CA"
[[ $("${ETCDCTL[@]}" get --prefix /vpcfwd/1/vpcs/ --keys-only | grep -c .) == 1 ]] ||
	t_fail "a refused controller wrote to etcd"
echo "etcd_tls: ok"
