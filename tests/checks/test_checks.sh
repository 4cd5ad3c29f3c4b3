#!/usr/bin/env bash
# The checkers tests/run relies on, shown failing: on a temporary copy of
# the tree (never the tree itself), one forbidden include, one private
# header and one formatting difference each make their checker fail and
# name the file. TAP output.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/troupe-checks.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
ok() { # cond-exit-status description
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
fresh() {
	rm -rf "$tmp/tree"
	mkdir -p "$tmp/tree/docs"
	cp -r "$root/src" "$tmp/tree/"
	cp "$root/docs/architecture.deps" "$tmp/tree/docs/"
	cp "$root/.clang-format" "$tmp/tree/"
}
# Runs a checker; fails the case unless its exit status is want and its
# output holds the expected text.
expect() { # want text desc cmd...
	local want=$1 text=$2 desc=$3
	shift 3
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && { [ -z "$text" ] || grep -qF -- "$text" <<<"$out"; }; then
		ok 0 "$desc"
	else
		ok 1 "$desc"
		echo "#   exit $rc, want $want; output:"
		sed 's/^/#   /' <<<"$out" | head -n 10
	fi
}

fresh
expect 0 "" "check-deps passes on a copy of the tree" "$root/scripts/check-deps" "$tmp/tree"
expect 0 "" "check-format passes on a copy of the tree" "$root/scripts/check-format" "$tmp/tree"

# models must not see HTTP.
sed -i '0,/^#include "models_int.h"/s//#include "models_int.h"\n#include "..\/http\/http.h"/' "$tmp/tree/src/models/models.c"
line=$(grep -n '"../http/http.h"' "$tmp/tree/src/models/models.c" | cut -d: -f1)
expect 1 "src/models/models.c:$line: error: models -> http is forbidden" \
	"a module including http.h fails check-deps, naming the file and line" "$root/scripts/check-deps" "$tmp/tree"

fresh
sed -i '0,/^#include "db_int.h"/s//#include "db_int.h"\n#include "..\/auth\/auth.h"/' "$tmp/tree/src/db/db.c"
expect 1 "src/db/db.c" "db including another module fails check-deps" "$root/scripts/check-deps" "$tmp/tree"

fresh
sed -i '0,/^#include "..\/auth\/auth.h"/s//#include "..\/auth\/auth_int.h"/' "$tmp/tree/src/models/models.h"
expect 1 "auth's private header" "another module's *_int.h fails check-deps" "$root/scripts/check-deps" "$tmp/tree"

fresh
mkdir -p "$tmp/tree/src/widgets"
printf '#include "../core/core.h"\n' >"$tmp/tree/src/widgets/widgets.c"
expect 1 "error: module 'widgets' has no 'allow widgets" "a module without an allow line fails check-deps" \
	"$root/scripts/check-deps" "$tmp/tree"

fresh
printf '\nint  troupe_check_format_probe ( void ) { return 0 ; }\n' >>"$tmp/tree/src/core/util.c"
expect 1 "src/core/util.c: error: not formatted" "a formatting difference fails check-format, naming the file" \
	"$root/scripts/check-format" "$tmp/tree"

echo "1..$n"
[ "$failed" = 0 ]
