#!/usr/bin/env bash
# Times snpmeasure against the tools it replaces, on this machine, and prints
# a Markdown table (the one in the README, "Performance and robustness"):
#
#   a) a plain SNP measurement of testdata/inputs/sid-OVMF.amdsev.fd with
#      synth-kernel-12345.bin and the 5 MB initrd: snpmeasure against
#      sev-snp-measure (only when it is on PATH);
#   b) the same with a generated 1 GiB initrd: snpmeasure against
#      `openssl dgst -sha256` of the initrd alone, and the peak RSS of both;
#   c) `snpmeasure search` and `snpmeasure refvalues` over 1-64, 1-256 and
#      1-512 vCPUs (every vCPU type and VMM; search also every guest feature
#      set), to show that the cost is linear in the number of configurations
#      (only when the built binary has those commands).
#
# Usage: bench/compare.sh [-o FILE]
# Environment: RUNS (timed runs per command, default 10; the median is
# reported), INITRD_SIZE (size of the generated initrd, default 1G, any
# `head -c` size), TMPDIR (where the initrd is written: needs that much space).
# Uses hyperfine when installed (apt-get install hyperfine), else a loop
# around `date +%s%N`; peak RSS needs GNU time at /usr/bin/time (package time).
set -euo pipefail

out=/dev/stdout
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [-o FILE]" >&2; exit 2 ;;
	esac
done

RUNS=${RUNS:-10}
INITRD_SIZE=${INITRD_SIZE:-1G}
root=$(cd "$(dirname "$0")/.." && pwd)
in=$root/testdata/inputs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
table=$work/table.md

note() { echo "compare.sh: $*" >&2; }

bin=$work/snpmeasure
note "building snpmeasure"
(cd "$root" && go build -trimpath -o "$bin" ./cmd/snpmeasure)

have_hyperfine=0
command -v hyperfine >/dev/null 2>&1 && have_hyperfine=1
have_time=0
[ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 && have_time=1

# median_ms CMD ARG...: median wall time in milliseconds of RUNS runs (after
# two warm-up runs that also fill the page cache). Output is discarded.
median_ms() {
	if [ $have_hyperfine = 1 ]; then
		# -N: no intermediate shell; arguments must not contain spaces.
		# -i: search exits 3 when nothing matches, which is what it is timed on.
		hyperfine -N -i --style none --warmup 2 --runs "$RUNS" --export-json "$work/h.json" -- "$*" >/dev/null 2>&1
		grep -o '"median": *[0-9.eE+-]*' "$work/h.json" | head -n 1 | awk -F: '{ printf "%.1f", $2 * 1000 }'
		return
	fi
	local i t0 t1
	"$@" >/dev/null 2>&1 || true
	"$@" >/dev/null 2>&1 || true
	for ((i = 0; i < RUNS; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}

# peak_rss_mib CMD ARG...: the largest maximum resident set size of 3 runs, in MiB.
peak_rss_mib() {
	if [ $have_time = 0 ]; then
		echo "n/a"
		return
	fi
	local i kb max=0
	for i in 1 2 3; do
		/usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>&1 || true
		kb=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$work/time.txt")
		kb=${kb:-0}
		if [ "$kb" -gt "$max" ]; then max=$kb; fi
	done
	awk -v k="$max" 'BEGIN { printf "%.1f", k / 1024 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

{
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc) CPUs;" \
		"$(go version | awk '{ print $3 }'); $(openssl version 2>/dev/null | awk '{ print $1, $2 }');" \
		"median of $RUNS runs ($([ $have_hyperfine = 1 ] && echo hyperfine || echo 'date loop'))."
	echo
	echo "| case | command | median ms | peak RSS MiB | ratio |"
	echo "|---|---|---:|---:|---|"
} >"$table"

# a) plain SNP measurement.
args_a=(--mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf "$in/sid-OVMF.amdsev.fd"
	--kernel "$in/synth-kernel-12345.bin" --initrd "$in/synth-initrd-5M.img" --append console=ttyS0)
note "a) SNP measurement, 4 MiB OVMF, 5 MB initrd"
ms_a=$(median_ms "$bin" "${args_a[@]}")
rss_a=$(peak_rss_mib "$bin" "${args_a[@]}")
if command -v sev-snp-measure >/dev/null 2>&1; then
	want=$(sev-snp-measure "${args_a[@]}")
	got=$("$bin" "${args_a[@]}")
	[ "$want" = "$got" ] || note "WARNING: sev-snp-measure printed $want, snpmeasure $got"
	ref_a=$(median_ms sev-snp-measure "${args_a[@]}")
	rss_ref_a=$(peak_rss_mib sev-snp-measure "${args_a[@]}")
	echo "| a) snp, 4 MiB OVMF + 5 MB initrd | snpmeasure | $ms_a | $rss_a | $(ratio "$ref_a" "$ms_a")× faster |" >>"$table"
	echo "| | sev-snp-measure | $ref_a | $rss_ref_a | |" >>"$table"
else
	note "sev-snp-measure is not on PATH: column skipped"
	echo "| a) snp, 4 MiB OVMF + 5 MB initrd | snpmeasure | $ms_a | $rss_a | (sev-snp-measure not on PATH) |" >>"$table"
fi

# b) large initrd.
initrd=$work/initrd.img
note "b) generating a $INITRD_SIZE initrd"
head -c "$INITRD_SIZE" /dev/urandom >"$initrd"
args_b=(--mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf "$in/sid-OVMF.amdsev.fd"
	--kernel "$in/synth-kernel-12345.bin" --initrd "$initrd" --append console=ttyS0)
ms_b=$(median_ms "$bin" "${args_b[@]}")
rss_b=$(peak_rss_mib "$bin" "${args_b[@]}")
ms_ssl=$(median_ms openssl dgst -sha256 "$initrd")
rss_ssl=$(peak_rss_mib openssl dgst -sha256 "$initrd")
echo "| b) snp, 4 MiB OVMF + $INITRD_SIZE initrd | snpmeasure | $ms_b | $rss_b | $(ratio "$ms_b" "$ms_ssl")× openssl |" >>"$table"
echo "| | openssl dgst -sha256 (initrd only) | $ms_ssl | $rss_ssl | |" >>"$table"
rm -f "$initrd"

# c) configuration spaces.
zero=$(printf '0%.0s' $(seq 96))
space_args=(--ovmf "$in/sid-OVMF.amdsev.fd" --kernel "$in/synth-kernel-12345.bin"
	--initrd "$in/synth-initrd-5M.img" --append console=ttyS0 --vcpu-type all --vmm-type all --quiet)
ntypes=$("$bin" cpus 2>/dev/null | tail -n +2 | wc -l)
for cmd in search refvalues; do
	if ! "$bin" "$cmd" --help >/dev/null 2>&1; then
		note "c) this snpmeasure has no '$cmd' command: skipped"
		continue
	fi
	for n in 64 256 512; do
		note "c) $cmd over 1-$n vCPUs"
		if [ "$cmd" = search ]; then
			# A measurement nothing matches: every configuration is tried (exit 3).
			a=(search --measurement "$zero" --vcpus "1-$n" --guest-features 0x1,0x21,0x201,0x221 "${space_args[@]}")
			configs=$((n * ntypes * 3 * 4))
		else
			a=(refvalues --vcpus "1-$n" "${space_args[@]}")
			configs=$((n * ntypes * 3))
		fi
		rc=0
		"$bin" "${a[@]}" >/dev/null 2>"$work/err" || rc=$?
		if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
			note "WARNING: snpmeasure ${a[*]} exited $rc: $(head -c 300 "$work/err")"
		fi
		ms=$(median_ms "$bin" "${a[@]}")
		rss=$(peak_rss_mib "$bin" "${a[@]}")
		# Linear: a fixed cost (hashing the firmware, kernel and initrd once)
		# plus a constant cost per configuration, the slope from the 1-64 row.
		if [ "$n" = 64 ]; then
			ms0=$ms configs0=$configs
			per="$(awk -v m="$ms" -v c="$configs" 'BEGIN { printf "%.2f", m * 1000 / c }') µs/configuration in all"
		else
			per="$(awk -v m="$ms" -v c="$configs" -v m0="$ms0" -v c0="$configs0" 'BEGIN { printf "%.2f", (m - m0) * 1000 / (c - c0) }') µs per configuration more"
		fi
		echo "| c) $cmd, 1-$n vCPUs × $ntypes types × 3 VMMs$([ "$cmd" = search ] && echo ' × 4 features') | $configs configurations | $ms | $rss | $per |" >>"$table"
	done
done

cat "$table" >"$out"
