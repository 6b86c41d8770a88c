#!/bin/sh
# Regenerates the small archives FuzzReader and the reader tests use as
# seeds. Needs GNU cpio, gzip, zstd, xz, lz4 and bzip2. Run from this
# directory; the output is committed, so this is only needed to change it.
set -eu
umask 022
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/bin" "$tmp/root/etc" "$tmp/early/kernel/x86/microcode"
printf '#!/bin/sh\necho hello\n' > "$tmp/root/init"
chmod 755 "$tmp/root/init"
printf 'root:x:0:0::/root:/bin/sh\n' > "$tmp/root/etc/passwd"
ln -s ../init "$tmp/root/bin/sh"
ln "$tmp/root/etc/passwd" "$tmp/root/etc/passwd.link"
printf 'microcode' > "$tmp/early/kernel/x86/microcode/AuthenticAMD.bin"
touch -d @0 "$tmp"/root/* "$tmp"/root/*/* "$tmp"/early/kernel/x86/microcode/*
here=$(pwd)
(cd "$tmp/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > gnu-newc.cpio
(cd "$tmp/root" && find . | LC_ALL=C sort | cpio -o -H crc -R 0:0 --quiet) > gnu-crc.cpio
(cd "$tmp/early" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$tmp/early.cpio"
gzip -9 -n -c gnu-newc.cpio > gnu-newc.cpio.gz
zstd -q -19 -c gnu-newc.cpio > gnu-newc.cpio.zst
xz --check=crc32 --lzma2=dict=1MiB -c gnu-newc.cpio > gnu-newc.cpio.xz
lz4 -q -l -c gnu-newc.cpio > gnu-newc.cpio.lz4
bzip2 -9 -c gnu-newc.cpio > gnu-newc.cpio.bz2
cat "$tmp/early.cpio" gnu-newc.cpio.zst > early-main.img
