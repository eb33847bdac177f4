#!/usr/bin/env bash
# The openssl work of k3s's contrib/util/generate-custom-ca-certs.sh
# (k3s-io/k3s master, 2026) on an empty DATA_DIR, for
# BenchmarkCustomCAVsOpenSSL: the same openssl invocations in the same
# order, nothing imported, so it makes a service key (RSA-2048), a root and an
# intermediate (RSA-4096), and five EC P-256 CAs whose .crt files bundle CA +
# intermediate + root. Only the echo lines, the copy of imported files (there
# are none) and the final listing are left out.
#
# usage: custom-ca.sh DATA_DIR   (files go to DATA_DIR/server/tls)
set -e
umask 027

TIMESTAMP=$(date +%s)
PRODUCT="${PRODUCT:-k3s}"
DATA_DIR="${1:?usage: custom-ca.sh DATA_DIR}"
OPENSSL=openssl

${OPENSSL} version >/dev/null
if ! ${OPENSSL} ecparam -name prime256v1 -genkey -noout -out /dev/null &>/dev/null; then
  echo "openssl missing Elliptic Curve (ecparam) support" >&2
  exit 1
fi
${OPENSSL} version | grep -qF 'OpenSSL 3' && OPENSSL_GENRSA_FLAGS=-traditional

mkdir -p "${DATA_DIR}/server/tls/etcd"
cd "${DATA_DIR}/server/tls"

mkdir -p ".ca/certs"
trap "rm -rf .ca" EXIT
touch .ca/index
${OPENSSL} rand -hex 8 > .ca/serial
cat >.ca/config <<'CONF'
[ca]
default_ca = ca_default
[ca_default]
dir = ./.ca
database = $dir/index
serial = $dir/serial
new_certs_dir = $dir/certs
default_md = sha256
policy = policy_anything
[policy_anything]
commonName = supplied
[req]
distinguished_name = req_distinguished_name
[req_distinguished_name]
[v3_ca]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
CONF

${OPENSSL} genrsa ${OPENSSL_GENRSA_FLAGS:-} -out service.key 2048 2>/dev/null
echo "" >> service.key

${OPENSSL} genrsa ${OPENSSL_GENRSA_FLAGS:-} -out root-ca.key 4096 2>/dev/null
${OPENSSL} req -x509 -new -nodes -sha256 -days 7300 \
  -subj "/CN=${PRODUCT}-root-ca@${TIMESTAMP}" \
  -key root-ca.key -out root-ca.pem -config .ca/config -extensions v3_ca
cat root-ca.pem > root-ca.crt

${OPENSSL} genrsa ${OPENSSL_GENRSA_FLAGS:-} -out intermediate-ca.key 4096 2>/dev/null
${OPENSSL} req -new -nodes -subj "/CN=${PRODUCT}-intermediate-ca@${TIMESTAMP}" -key intermediate-ca.key |
  ${OPENSSL} ca -batch -notext -days 3700 -in /dev/stdin -out intermediate-ca.pem \
    -keyfile root-ca.key -cert root-ca.pem -config .ca/config -extensions v3_ca 2>/dev/null
cat intermediate-ca.pem root-ca.pem > intermediate-ca.crt

for TYPE in client server request-header etcd/peer etcd/server; do
  CERT_NAME="${PRODUCT}-$(echo ${TYPE} | tr / -)-ca"
  ${OPENSSL} ecparam -name prime256v1 -genkey -noout -out ${TYPE}-ca.key
  ${OPENSSL} req -new -nodes -subj "/CN=${CERT_NAME}@${TIMESTAMP}" -key ${TYPE}-ca.key |
    ${OPENSSL} ca -batch -notext -days 3700 -in /dev/stdin -out ${TYPE}-ca.pem \
      -keyfile intermediate-ca.key -cert intermediate-ca.pem -config .ca/config -extensions v3_ca 2>/dev/null
  cat ${TYPE}-ca.pem intermediate-ca.pem root-ca.pem > ${TYPE}-ca.crt
done
