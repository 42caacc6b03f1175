#!/bin/bash
#
# t0100-mint-crosscheck.sh -- ztmint's output checked by the openssl CLI.
#
# Every signature ztmint makes (libjwt's and auth_sign()'s, all 13 algs) is
# verified here by the openssl command, never by our own code: HMACs are
# recomputed, RSA and PSS signatures verified with the strict options
# RFC 7518 asks for, ECDSA's raw r||s turned back into DER first, Ed25519
# verified over the raw input.  Each family's checker is also shown a
# tampered token, so a checker that says yes to everything cannot pass.
# Then: libjwt-verify says pass and fail where it should, JWKs match the
# keys' own encodings, the hmac command matches openssl, and bad command
# lines and unfit keys fail with the right exit codes.
#
# Needs bash, openssl, od, base64, cmp.  Run as
#   ZTMINT=build/test/ztmint bash tests/t0100-mint-crosscheck.sh
set -eu

: "${ZTMINT:?set ZTMINT to the ztmint binary}"
case $ZTMINT in /*) ;; *) ZTMINT=$PWD/$ZTMINT ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

failed=0
NOW=1700000000

# Report one case: run the command, print ok / not ok with its output.
check() {
	local name=$1
	shift
	if "$@" >"$T/log" 2>&1; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		sed 's/^/#   /' "$T/log"
		failed=1
	fi
}

# The opposite: the command must fail.
check_fails() {
	local name=$1
	shift
	if "$@" >"$T/log" 2>&1; then
		echo "not ok - $name"
		echo "#   expected a failure"
		sed 's/^/#   /' "$T/log"
		failed=1
	else
		echo "ok - $name"
	fi
}

# base64url (no padding) on stdin to bytes on stdout.
b64url_dec() {
	local s
	s=$(tr -- '-_' '+/')
	case $((${#s} % 4)) in
	2) s="$s==" ;;
	3) s="$s=" ;;
	1) return 1 ;;
	esac
	printf '%s' "$s" | base64 -d
}

# Bytes on stdin to base64url without padding.
b64url_enc() {
	base64 -w0 | tr -- '+/' '-_' | tr -d '='
}

# Bytes of a file as lowercase hex, one line.
hexof() {
	od -An -tx1 -v "$1" | tr -d ' \n'
}

# Hex (even length) on stdin to bytes.
unhex() {
	local h
	h=$(tr -d ' \n')
	printf "$(printf '%s' "$h" | sed 's/../\\x&/g')"
}

# DER length octets for n.
der_len() {
	if [ "$1" -lt 128 ]; then
		printf '%02x' "$1"
	else
		printf '81%02x' "$1"
	fi
}

# A DER INTEGER for an unsigned big-endian hex number.
der_int() {
	local h=$1
	while [ ${#h} -gt 2 ] && [ "${h:0:2}" = 00 ]; do
		h=${h:2}
	done
	case ${h:0:1} in [89a-f]) h=00$h ;; esac
	printf '02%s%s' "$(der_len $((${#h} / 2)))" "$h"
}

# JWS raw r||s in file $1 to a DER ECDSA-Sig in file $2.
raw_to_der() {
	local h n r s body
	h=$(hexof "$1")
	n=$((${#h} / 2))
	r=$(der_int "${h:0:n}")
	s=$(der_int "${h:n}")
	body=$r$s
	printf '30%s%s' "$(der_len $((${#body} / 2)))" "$body" | unhex >"$2"
}

# openssl's digest name for an alg.
md_of() {
	case $1 in
	*256) echo sha256 ;;
	*384) echo sha384 ;;
	*512) echo sha512 ;;
	esac
}

# Public key file for an alg.
pub_of() {
	case $1 in
	RS* | PS*) echo rsa.pub ;;
	ES256) echo p256.pub ;;
	ES384) echo p384.pub ;;
	ES512) echo p521.pub ;;
	EdDSA) echo ed.pub ;;
	esac
}

# Private key (or secret) file for an alg.
key_of() {
	case $1 in
	HS*) echo secret ;;
	RS* | PS*) echo rsa.pem ;;
	ES256) echo p256.pem ;;
	ES384) echo p384.pem ;;
	ES512) echo p521.pem ;;
	EdDSA) echo ed.pem ;;
	esac
}

# Verify the signature of compact token $2 for alg $1 with openssl alone.
verify_sig() {
	local alg=$1 tok=$2 h c s rest md len
	IFS=. read -r h c s rest <<<"$tok"
	[ -n "$h" ] && [ -n "$c" ] && [ -n "$s" ] && [ -z "$rest" ] || return 1
	printf '%s.%s' "$h" "$c" >input
	printf '%s' "$s" | b64url_dec >sig || return 1
	md=$(md_of "$alg")
	len=$(wc -c <sig)
	case $alg in
	HS*)
		openssl dgst "-$md" -mac HMAC -macopt "hexkey:$(hexof secret)" \
		    -binary input >mac || return 1
		cmp mac sig
		;;
	RS*)
		openssl dgst "-$md" -verify rsa.pub -signature sig input
		;;
	PS*)
		openssl dgst "-$md" -verify rsa.pub -signature sig \
		    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
		    -sigopt "rsa_mgf1_md:$md" input
		;;
	ES*)
		case $alg in
		ES256) [ "$len" -eq 64 ] ;;
		ES384) [ "$len" -eq 96 ] ;;
		ES512) [ "$len" -eq 132 ] ;;
		esac || { echo "raw signature is $len bytes"; return 1; }
		raw_to_der sig sig.der || return 1
		openssl dgst "-$md" -verify "$(pub_of "$alg")" -signature sig.der \
		    input
		;;
	EdDSA)
		[ "$len" -eq 64 ] || { echo "signature is $len bytes"; return 1; }
		openssl pkeyutl -verify -rawin -pubin -inkey ed.pub -in input \
		    -sigfile sig
		;;
	esac
}

# Decode part $2 (1 header, 2 claims) of token $1.
part() {
	local h c s
	IFS=. read -r h c s <<<"$1"
	case $2 in
	1) printf '%s' "$h" | b64url_dec ;;
	2) printf '%s' "$c" | b64url_dec ;;
	esac
}

# Change one character of the claims part of a token.
tamper() {
	local h c s
	IFS=. read -r h c s <<<"$1"
	case ${c:0:1} in
	e) c=f${c:1} ;;
	*) c=e${c:1} ;;
	esac
	printf '%s.%s.%s' "$h" "$c" "$s"
}

# Mint with ztmint token and check the signature, header and claims.
token_case() {
	local alg=$1 lib=$2 tok hdr clm
	tok=$("$ZTMINT" token --alg "$alg" --key "$(key_of "$alg")" --kid k1 \
	    --claims '{"iss":"t0100","aud":["a","b"],"n":1.5}' --now $NOW \
	    --exp-in 60 --nbf-in -10 --iat-in 0 ${lib:+--lib "$lib"}) ||
	    return 1
	echo "$tok" >"tok.$alg.${lib:-default}"
	verify_sig "$alg" "$tok" || return 1
	hdr=$(part "$tok" 1)
	clm=$(part "$tok" 2)
	echo "header $hdr"
	echo "claims $clm"
	for want in "\"alg\":\"$alg\"" '"typ":"JWT"' '"kid":"k1"'; do
		case $hdr in *"$want"*) ;; *) echo "no $want"; return 1 ;; esac
	done
	for want in '"iss":"t0100"' '"aud":["a","b"]' '"exp":1700000060' \
	    '"nbf":1699999990' '"iat":1700000000'; do
		case $clm in *"$want"*) ;; *) echo "no $want"; return 1 ;; esac
	done
}

# The checker itself must refuse a tampered token of alg.
tampered_case() {
	local alg=$1 tok
	tok=$("$ZTMINT" token --alg "$alg" --key "$(key_of "$alg")" \
	    --claims '{"sub":"x"}') || return 1
	verify_sig "$alg" "$(tamper "$tok")"
}

# ---- keys ----------------------------------------------------------------

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem \
    2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out p521.pem
openssl genpkey -algorithm ED25519 -out ed.pem
for k in rsa p256 p384 p521 ed; do
	openssl pkey -in $k.pem -pubout -out $k.pub
done
openssl rand 32 >secret

ALGS="HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512
EdDSA"
LIBJWT_ALGS="HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512"

# ---- tokens, every alg, checked by openssl ------------------------------

for alg in $ALGS; do
	check "token $alg (default lib) verifies with openssl" \
	    token_case "$alg" ""
done
for alg in $LIBJWT_ALGS; do
	check "token $alg --lib auth verifies with openssl" \
	    token_case "$alg" auth
done
for alg in $ALGS; do
	check_fails "openssl check refuses a tampered $alg token" \
	    tampered_case "$alg"
done

# auth's header is {"alg","typ",extras...}, typ may be replaced.
auth_header() {
	local tok hdr
	tok=$("$ZTMINT" token --alg ES256 --key p256.pem --lib auth \
	    --header '{"typ":"at+jwt","x":[1]}' --kid k9) || return 1
	hdr=$(part "$tok" 1)
	echo "$hdr"
	[ "$hdr" = '{"alg":"ES256","typ":"at+jwt","x":[1],"kid":"k9"}' ] &&
	    verify_sig ES256 "$tok"
}
check "token --lib auth header layout and extras" auth_header

# libjwt writes the extras beside its own alg and typ.
libjwt_header() {
	local tok hdr
	tok=$("$ZTMINT" token --alg HS256 --key secret \
	    --header '{"x":{"y":"z"}}') || return 1
	hdr=$(part "$tok" 1)
	echo "$hdr"
	case $hdr in *'"alg":"HS256"'*) ;; *) return 1 ;; esac
	case $hdr in *'"typ":"JWT"'*) ;; *) return 1 ;; esac
	case $hdr in *'"x":{"y":"z"}'*) ;; *) return 1 ;; esac
	verify_sig HS256 "$tok"
}
check "token (libjwt) header extras" libjwt_header

# ---- traditional PEM forms --------------------------------------------

openssl pkey -in rsa.pem -traditional -out rsa-trad.pem
openssl pkey -in p256.pem -traditional -out p256-trad.pem
trad_case() {
	local alg=$1 key=$2 tok
	grep -q "BEGIN $3 PRIVATE KEY" "$key" || return 1
	tok=$("$ZTMINT" token --alg "$alg" --key "$key" --lib auth) || return 1
	verify_sig "$alg" "$tok"
}
check "PS256 with a traditional RSA PRIVATE KEY" trad_case PS256 rsa-trad.pem RSA
check "ES256 with a traditional EC PRIVATE KEY" trad_case ES256 p256-trad.pem EC

# ---- sign: exact bytes ----------------------------------------------------

RAW_H='{"alg":"HS256", "alg":"none" ,"typ":"JWT"}'
RAW_C='{"sub":"x","sub":"y",  "exp":1e3}'
sign_case() {
	local alg=$1 tok
	tok=$("$ZTMINT" sign --alg "$alg" --key "$(key_of "$alg")" \
	    --header-raw "$RAW_H" --claims-raw "$RAW_C") || return 1
	[ "$(part "$tok" 1)" = "$RAW_H" ] || { echo "header changed"; return 1; }
	[ "$(part "$tok" 2)" = "$RAW_C" ] || { echo "claims changed"; return 1; }
	verify_sig "$alg" "$tok"
}
for alg in $ALGS; do
	check "sign $alg keeps exact bytes and verifies" sign_case "$alg"
done
sign_none() {
	local tok
	tok=$("$ZTMINT" sign --alg none --header-raw '{"alg":"none"}' \
	    --claims-raw '{}') || return 1
	[ "$tok" = "eyJhbGciOiJub25lIn0.e30." ]
}
check "sign --alg none gives an unsigned token" sign_none

# Many ECDSA signatures: short r or s must be left-padded, never shortened.
ecdsa_many() {
	local alg=$1 i tok
	for i in $(seq 1 "$2"); do
		tok=$("$ZTMINT" sign --alg "$alg" --key "$(key_of "$alg")" \
		    --header-raw "{\"alg\":\"$alg\"}" --claims-raw "{\"i\":$i}") ||
		    return 1
		verify_sig "$alg" "$tok" || { echo "failed at $i"; return 1; }
	done
}
check "ES256 x64 signatures verify (padding)" ecdsa_many ES256 64
check "ES512 x32 signatures verify (padding)" ecdsa_many ES512 32

# ---- libjwt-verify --------------------------------------------------------

# Key file libjwt verifies alg with.
vkey_of() {
	case $1 in HS*) echo secret ;; *) pub_of "$1" ;; esac
}
libjwt_verify_case() {
	local alg=$1 lib=$2 tok out
	tok=$(cat "tok.$alg.$lib")
	out=$(printf '%s\n%s\n%s\n' "$tok" "$(tamper "$tok")" "$tok" |
	    "$ZTMINT" libjwt-verify --key "$(vkey_of "$alg")") || return 1
	echo "$out"
	[ "$out" = "$(printf 'pass\nfail\npass')" ]
}
for alg in $LIBJWT_ALGS; do
	check "libjwt-verify: $alg (libjwt) pass, tampered fail" \
	    libjwt_verify_case "$alg" default
	check "libjwt-verify: $alg (auth_sign) pass, tampered fail" \
	    libjwt_verify_case "$alg" auth
done
wrong_key_case() {
	local out
	out=$("$ZTMINT" libjwt-verify --key p384.pub <tok.ES256.default) ||
	    return 1
	[ "$out" = fail ]
}
check "libjwt-verify: ES256 token with a P-384 key fails" wrong_key_case
garbage_case() {
	local out
	out=$(printf '\nnot.a.token\nx\n' |
	    "$ZTMINT" libjwt-verify --key secret) || return 1
	[ "$out" = "$(printf 'fail\nfail\nfail')" ]
}
check "libjwt-verify: garbage lines fail" garbage_case

# ---- jwk ------------------------------------------------------------------

# JSON string member $2 of one-line object $1 (values here need no escapes).
member() {
	sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$1"
}
jwk_rsa() {
	local jwk n
	jwk=$("$ZTMINT" jwk --pub rsa.pub --kid r1 --alg PS256 --use sig) ||
	    return 1
	echo "$jwk"
	n=$(openssl rsa -pubin -in rsa.pub -noout -modulus | sed 's/^Modulus=//' |
	    tr 'A-F' 'a-f' | unhex | b64url_enc)
	[ "$(member "$jwk" kty)" = RSA ] && [ "$(member "$jwk" n)" = "$n" ] &&
	    [ "$(member "$jwk" e)" = AQAB ] && [ "$(member "$jwk" kid)" = r1 ] &&
	    [ "$(member "$jwk" alg)" = PS256 ] && [ "$(member "$jwk" use)" = sig ]
}
check "jwk RSA n and e match openssl" jwk_rsa
jwk_ec() {
	local k=$1 crv=$2 size=$3 jwk h x y
	jwk=$("$ZTMINT" jwk --pub "$k.pub") || return 1
	echo "$jwk"
	openssl pkey -pubin -in "$k.pub" -outform DER -out "$k.der"
	h=$(hexof "$k.der")
	h=${h: -$((4 * size + 2))}		# 04 || x || y
	[ "${h:0:2}" = 04 ] || return 1
	x=$(printf '%s' "${h:2:$((2 * size))}" | unhex | b64url_enc)
	y=$(printf '%s' "${h:$((2 + 2 * size))}" | unhex | b64url_enc)
	[ "$(member "$jwk" kty)" = EC ] && [ "$(member "$jwk" crv)" = "$crv" ] &&
	    [ "$(member "$jwk" x)" = "$x" ] && [ "$(member "$jwk" y)" = "$y" ]
}
check "jwk EC P-256 x and y match the SPKI point" jwk_ec p256 P-256 32
check "jwk EC P-384 x and y match the SPKI point" jwk_ec p384 P-384 48
check "jwk EC P-521 x and y match the SPKI point" jwk_ec p521 P-521 66
jwk_ed() {
	local jwk x
	jwk=$("$ZTMINT" jwk --pub ed.pub) || return 1
	echo "$jwk"
	openssl pkey -pubin -in ed.pub -outform DER -out ed.der
	x=$(tail -c 32 ed.der | b64url_enc)
	[ "$(member "$jwk" kty)" = OKP ] && [ "$(member "$jwk" crv)" = Ed25519 ] &&
	    [ "$(member "$jwk" x)" = "$x" ]
}
check "jwk Ed25519 x matches the SPKI key" jwk_ed
jwk_private() {
	local k
	for k in rsa p256 p384 p521 ed; do
		[ "$("$ZTMINT" jwk --pub $k.pem)" = "$("$ZTMINT" jwk --pub $k.pub)" ] ||
		    { echo "$k differs"; return 1; }
	done
}
check "jwk of a private key PEM is its public JWK" jwk_private
jwk_secret() {
	local jwk
	jwk=$("$ZTMINT" jwk --secret secret --kid s1 --alg HS256) || return 1
	[ "$(member "$jwk" kty)" = oct ] &&
	    [ "$(member "$jwk" k)" = "$(b64url_enc <secret)" ] &&
	    [ "$(member "$jwk" kid)" = s1 ]
}
check "jwk --secret k is the secret" jwk_secret

# ---- hmac -----------------------------------------------------------------

printf 'event data \000 with a NUL\n' >data
hmac_case() {
	local alg=$1 md want got
	md=$(md_of "$alg")
	want=$(openssl dgst "-$md" -mac HMAC -macopt "hexkey:$(hexof secret)" \
	    -r data | cut -d' ' -f1)
	got=$("$ZTMINT" hmac --alg "$alg" --key secret <data) || return 1
	[ "$got" = "$want" ] || { echo "$got != $want"; return 1; }
	got=$("$ZTMINT" hmac --alg "$alg" --key secret --b64 <data) || return 1
	[ "$got" = "$(printf '%s' "$want" | unhex | base64 -w0)" ]
}
for alg in HS256 HS384 HS512; do
	check "hmac $alg matches openssl (hex and base64)" hmac_case "$alg"
done

# ---- errors and exit codes -----------------------------------------------

# Run ztmint, expecting exit code $1, nothing on stdout, one line on stderr.
exit_case() {
	local want=$1 rc=0
	shift
	"$ZTMINT" "$@" </dev/null >out 2>err || rc=$?
	cat err
	[ "$rc" -eq "$want" ] && [ ! -s out ] && [ "$(wc -l <err)" -eq 1 ]
}
check "ES256 with a P-384 key is refused (exit 1)" \
    exit_case 1 token --alg ES256 --key p384.pem --lib auth
check "sign ES384 with a P-256 key is refused (exit 1)" \
    exit_case 1 sign --alg ES384 --key p256.pem --header-raw '{}' --claims-raw '{}'
check "RS256 with an Ed25519 key is refused (exit 1)" \
    exit_case 1 token --alg RS256 --key ed.pem --lib auth
check "EdDSA with an RSA key is refused (exit 1)" \
    exit_case 1 token --alg EdDSA --key rsa.pem
check "PS256 with a public key PEM is refused (exit 1)" \
    exit_case 1 token --alg PS256 --key rsa.pub
openssl pkey -in rsa.pem -aes256 -passout pass:pw -out rsa-enc.pem
# OpenSSL's default passphrase prompt reads /dev/tty: a hang means it asked.
encrypted_case() {
	local rc=0
	timeout 20 "$ZTMINT" token --alg PS256 --key rsa-enc.pem </dev/null \
	    >out 2>err || rc=$?
	cat err
	[ "$rc" -eq 1 ] && [ ! -s out ]
}
check "encrypted key is refused without a prompt (exit 1)" encrypted_case
check "missing key file (exit 1)" exit_case 1 token --alg HS256 --key nofile
check "unknown alg (exit 2)" exit_case 2 token --alg none --key secret
check "unknown option (exit 2)" exit_case 2 token --alg HS256 --key secret --bogus
check "unknown command (exit 2)" exit_case 2 frobnicate
check "--lib libjwt for PS256 (exit 2)" \
    exit_case 2 token --alg PS256 --key rsa.pem --lib libjwt
check "--claims not an object (exit 2)" \
    exit_case 2 token --alg HS256 --key secret --claims '[1]'
check "--claims duplicate member (exit 2)" \
    exit_case 2 token --alg HS256 --key secret --claims '{"a":1,"a":2}'
check "--exp-in not a number (exit 2)" \
    exit_case 2 token --alg HS256 --key secret --exp-in 10s
check "jwk with both --pub and --secret (exit 2)" \
    exit_case 2 jwk --pub rsa.pub --secret secret
check "hmac with RS256 (exit 2)" exit_case 2 hmac --alg RS256 --key secret
check "--header cannot set alg (exit 2)" \
    exit_case 2 token --alg HS256 --key secret --lib auth --header '{"alg":"none"}'
check "--header typ other than JWT needs --lib auth (exit 2)" \
    exit_case 2 token --alg RS256 --key rsa.pem --header '{"typ":"at+jwt"}'

exit $failed
