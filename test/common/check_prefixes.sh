#!/bin/sh
# check_prefixes.sh - every library exports only names with its module's
# prefix (docs/architecture.md, "Prefixes"): the public prefix (tp_) or the
# private one for what files of one library share (tp__, which also starts
# with tp_).  Speaks TAP.
#
#   check_prefixes.sh NM CC AR LIBRARY=PREFIX[,PREFIX...]...
#
# First it proves that it can fail: a small archive exporting one name
# without the prefix must be refused, and that name alone reported.
nm=$1 cc=$2 ar=$3
shift 3
n=0 failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_prefixes.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The names LIBRARY exports (functions and data) that match none of the
# comma-separated PREFIXES, one per line.
strays() {
	"$nm" -g --defined-only "$1" | awk -v prefixes="$2" '
		BEGIN { np = split(prefixes, p, ",") }
		# names the compiler makes (ASan: __odr_asan.<name>) are not exports
		NF == 3 && $3 !~ /^__(odr_asan|asan|ubsan|sancov)/ {
			ok = 0
			for (i = 1; i <= np; i++)
				if (index($3, p[i]) == 1)
					ok = 1
			if (!ok)
				print $3
		}' | sort -u
}

result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# the check itself: one stray name is found, the prefixed ones are not
cat >"$tmp/t.c" <<'C'
int tp_public(void);
int tp__shared(void);
int aws_stray(void);
static int local_only(void) { return 1; }
int tp_public(void) { return local_only(); }
int tp__shared(void) { return 2; }
int aws_stray(void) { return 3; }
int tp_count = 1;
C
if "$cc" -c -o "$tmp/t.o" "$tmp/t.c" && "$ar" rcs "$tmp/libt.a" "$tmp/t.o"; then
	got=$(strays "$tmp/libt.a" tp_)
	[ "$got" = aws_stray ]
	result $? "a name without the prefix is found, and only it (got '$got')"
else
	result 1 "cannot build the archive of the self-check with '$cc' and '$ar'"
fi

for arg in "$@"; do
	lib=${arg%%=*} prefixes=${arg#*=}
	name=$(basename "$lib")
	if [ ! -f "$lib" ]; then
		result 1 "$name: no such library '$lib'"
		continue
	fi
	bad=$(strays "$lib" "$prefixes")
	count=$("$nm" -g --defined-only "$lib" | awk 'NF == 3' | wc -l)
	[ -z "$bad" ] && [ "$count" -gt 0 ]
	result $? "$name: its $count exported names start with $prefixes"
	[ -n "$bad" ] && echo "$bad" | sed "s/^/# without $prefixes: /"
done
echo "1..$n"
[ "$failed" = 0 ]
