#!/usr/bin/env bash
# Writes the seed corpus of each fuzz harness into DIR/<harness>/ (make fuzz calls it):
# small valid inputs, so that the fuzzers start from files the readers accept.
#   tests/fuzz/seeds.sh DIR
set -euo pipefail
dest=${1:?usage: seeds.sh DIR}
here=$(dirname "$0")
mkdir -p "$dest"/safetensors "$dest"/config_json "$dest"/idx "$dest"/options

# n as 8 little-endian bytes (the safetensors header size)
u64le() { local n=$1; for _ in 1 2 3 4 5 6 7 8; do printf "\\$(printf %03o $((n & 255)))"; n=$((n >> 8)); done; }
# n as 4 big-endian bytes (IDX dimensions)
u32be() { local n=$1; for s in 24 16 8 0; do printf "\\$(printf %03o $(((n >> s) & 255)))"; done; }
# n as 2 little-endian bytes (the images length prefix of the idx harness)
u16le() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $((($1 >> 8) & 255)))"; }

safetensors() {   # header JSON, then the data section (printf format)
    u64le ${#1}; printf '%s' "$1"; printf "$2"
}
safetensors '{"__metadata__":{"step":"3","d":"2"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}' \
    '\0\0\200\077\0\0\0\100\0\0\100\100' > "$dest/safetensors/two_tensors"
safetensors '{"x":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}   ' '' > "$dest/safetensors/empty_tensor"
safetensors '{"__metadata__":{"s":"\u00e9\ud83d\ude00\n"}}' '' > "$dest/safetensors/escapes"

cp "$here/config.json" "$dest/config_json/config.json"

images() { printf '\0\0\10\3'; u32be 2; u32be 2; u32be 3; printf '\1\2\3\4\5\6\7\10\11\12\13\14'; }
labels() { printf '\0\0\10\1'; u32be 2; printf '\3\1'; }
{ u16le 28; images; labels; } > "$dest/idx/raw"
ig=$(images | gzip -n -c | od -An -v -tx1 | tr -d ' \n'); lg=$(labels | gzip -n -c | od -An -v -tx1 | tr -d ' \n')
{ u16le $((${#ig} / 2)); printf "$(printf '%s%s' "$ig" "$lg" | sed 's/../\\x&/g')"; } > "$dest/idx/gzip"

printf -- '--dataset\0majority\0--d\0008\0--layers=2\0--lr\0001e-3\0--resume\0--name\0x' > "$dest/options/flags"
printf -- '--steps\00010\0--epochs\0002.5\0--help' > "$dest/options/help"
