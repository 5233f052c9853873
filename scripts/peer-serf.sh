#!/usr/bin/env bash
# peer-serf.sh runs hashicorp/serf's own test suites against this library.
#
# It makes a throwaway module (mktemp -d) that requires github.com/hashicorp/serf
# (v0.11.0 by default) and replaces github.com/hashicorp/memberlist with this
# checkout, then runs `go test -count=1 -json` on serf's packages one at a time:
#
#   github.com/hashicorp/serf/serf
#   github.com/hashicorp/serf/cmd/serf/command
#   github.com/hashicorp/serf/cmd/serf/command/agent
#
# The packages run one after the other, never in parallel: serf's test helper
# binds 127.0.0.10-254 on fixed ports, so two test binaries would collide.
# Top-level tests that fail or hang get one more try (two serf tests are
# timing-flaky with upstream memberlist too, about 1 run in 17); a test that
# passes on the retry counts as passed and is listed as flaky. A test that a
# run never reached, because another test hung until the -timeout or crashed
# the binary, is run again in a further go test run, so one hang costs one
# test, not the rest of its package. TestSyslogFilter needs /dev/log and is
# skipped (-skip) where that socket is absent.
#
# The last line is exactly `serf: N passed, M failed`; the exit status is 1 when
# M > 0, and 2 when the temporary module cannot be set up (reported as
# `serf: 0 passed, 1 failed`).
#
# Usage: scripts/peer-serf.sh [options]
#   --upstream     run against the real hashicorp/memberlist v0.7.0 (no replace),
#                  for a baseline                         (env PEER_SERF_UPSTREAM=1)
#   --copy         replace with a copy of the package whose go.mod module line
#                  reads github.com/hashicorp/memberlist, instead of this
#                  directory itself (chosen automatically when the go command
#                  refuses the direct replace)           (env PEER_SERF_COPY=1)
#   --run REGEX    only run the top-level tests matching REGEX (go test -run)
#   --pkg PATH     run only this serf package (repeatable)
#   --keep         keep the temporary module and the logs   (env PEER_SERF_KEEP=1)
#   --logs DIR     write each package's go test output (text and JSON) to DIR
#
# Other environment variables:
#   SERF_VERSION        serf version to require (default v0.11.0)
#   PEER_SERF_TIMEOUT   go test -timeout per package run (default 3m; with upstream
#                       the slowest package takes about 40 s, its slowest test 6 s)
#   PEER_SERF_TAIL      lines of output shown for each final failure (default 80)
set -euo pipefail

serf_version=${SERF_VERSION:-v0.11.0}
upstream=${PEER_SERF_UPSTREAM:-0}
copy=${PEER_SERF_COPY:-0}
keep=${PEER_SERF_KEEP:-0}
timeout=${PEER_SERF_TIMEOUT:-3m}
tail_lines=${PEER_SERF_TAIL:-80}
run_re=""
logdir=""
pkgs=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
	--upstream) upstream=1 ;;
	--copy) copy=1 ;;
	--keep) keep=1 ;;
	--run) run_re=${2:?--run needs a regex}; shift ;;
	--pkg) pkgs+=("${2:?--pkg needs a package path}"); shift ;;
	--logs) logdir=${2:?--logs needs a directory}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "peer-serf: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $upstream in 1 | true | yes) upstream=1 ;; *) upstream=0 ;; esac
case $copy in 1 | true | yes) copy=1 ;; *) copy=0 ;; esac
case $keep in 1 | true | yes) keep=1 ;; *) keep=0 ;; esac
if [ ${#pkgs[@]} -eq 0 ]; then
	pkgs=(
		github.com/hashicorp/serf/serf
		github.com/hashicorp/serf/cmd/serf/command
		github.com/hashicorp/serf/cmd/serf/command/agent
	)
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/peer-serf.XXXXXX")
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "peer-serf: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
[ -n "$logdir" ] || logdir=$tmp/logs
mkdir -p "$logdir"
logdir=$(cd "$logdir" && pwd -P)

# The temporary module must not be steered by a workspace or vendor settings
# from the caller's environment.
export GOWORK=off
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"

say() { echo "peer-serf: $*" >&2; }
die() {
	say "$*"
	echo "serf: 0 passed, 1 failed"
	exit 2
}

# makeCopy writes a copy of our package (top-level non-test files, go.mod with
# the module line rewritten, go.sum) to $tmp/memberlist.
makeCopy() {
	local dst=$tmp/memberlist f
	mkdir -p "$dst"
	for f in "$root"/*.go; do
		case $f in *_test.go) continue ;; esac
		cp "$f" "$dst/"
	done
	sed 's|^module .*|module github.com/hashicorp/memberlist|' "$root/go.mod" >"$dst/go.mod"
	[ -f "$root/go.sum" ] && cp "$root/go.sum" "$dst/"
	echo "$dst"
}

# writeModule writes the temporary module's go.mod (replacing memberlist with
# $1 unless it is empty) and a file importing the serf packages, so that
# `go mod tidy` records everything they need.
writeModule() {
	local target=$1 p
	{
		echo "module peerserf.test"
		echo
		echo "go 1.26"
		echo
		echo "require github.com/hashicorp/serf $serf_version"
		if [ -n "$target" ]; then
			echo
			echo "replace github.com/hashicorp/memberlist => $target"
		fi
	} >"$tmp/go.mod"
	rm -f "$tmp/go.sum"
	{
		echo "package peerserf"
		echo
		echo "import ("
		for p in "${pkgs[@]}"; do echo "	_ \"$p\""; done
		echo ")"
	} >"$tmp/imports.go"
}

# tidy prepares the module; its output goes to $tmp/tidy.log.
tidy() { (cd "$tmp" && go mod tidy && go list -deps -test "${pkgs[@]}" >/dev/null) >"$tmp/tidy.log" 2>&1; }

if [ "$upstream" = 1 ]; then
	writeModule ""
	tidy || { cat "$tmp/tidy.log" >&2; die "cannot set up the module against upstream"; }
else
	target=$root
	[ "$copy" = 1 ] && target=$(makeCopy)
	writeModule "$target"
	if ! tidy; then
		if [ "$copy" = 0 ] && grep -q 'declares its path' "$tmp/tidy.log"; then
			say "the go command refuses a replace target named $(sed -n 's/^module //p' "$root/go.mod"); using a renamed copy"
			target=$(makeCopy)
			writeModule "$target"
			tidy || { cat "$tmp/tidy.log" >&2; die "cannot set up the module"; }
		else
			cat "$tmp/tidy.log" >&2
			die "cannot set up the module"
		fi
	fi
fi

# The parser of `go test -json` output. For one package run it prints one line
# per top-level test, "<status> <name>", then "package <pass|fail>". A status is
# pass, fail or skip as go test reports it; hung for a test still running when
# the binary panicked on its -timeout; notrun for a test that never ended for
# another reason (paused, or cut short by a crash elsewhere) or that is listed
# in the file $3 (the package's tests, one a line) but never started. It writes
# the run's text output to the file $2.
mkdir -p "$tmp/internal/summarize"
cat >"$tmp/internal/summarize/main.go" <<'EOF'
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type event struct {
	Action string
	Test   string
	Output string
}

func main() {
	in, err := os.Open(os.Args[1])
	check(err)
	text, err := os.Create(os.Args[2])
	check(err)
	defer text.Close()
	var order []string
	state := map[string]string{}
	add := func(name string) {
		if _, ok := state[name]; !ok {
			order = append(order, name)
			state[name] = "notrun"
		}
	}
	if len(os.Args) > 3 {
		list, err := os.ReadFile(os.Args[3])
		check(err)
		for _, name := range strings.Fields(string(list)) {
			add(name)
		}
	}
	pkg, timedOut, hung := "fail", false, map[string]bool{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			fmt.Fprintln(text, sc.Text()) // build errors and the like
			continue
		}
		text.WriteString(e.Output)
		line := strings.TrimRight(e.Output, "\n")
		switch {
		case strings.HasPrefix(line, "panic: test timed out"):
			timedOut = true
		case timedOut && strings.HasPrefix(line, "\t\t") && strings.HasSuffix(line, ")"):
			// After the timeout panic, "running tests:" lists "\t\tTestName (14m39s)".
			name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			name, _, _ = strings.Cut(name, "/")
			hung[name] = true
		}
		if e.Test == "" {
			if e.Action == "pass" || e.Action == "fail" {
				pkg = e.Action
			}
			continue
		}
		if strings.Contains(e.Test, "/") {
			continue
		}
		switch e.Action {
		case "run":
			add(e.Test)
			state[e.Test] = "running"
		case "pass", "fail", "skip":
			add(e.Test)
			state[e.Test] = e.Action
		}
	}
	for _, name := range order {
		s := state[name]
		if s == "running" {
			s = "notrun"
			if hung[name] {
				s = "hung"
			}
		}
		fmt.Println(s, name)
	}
	fmt.Println("package", pkg)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
EOF
(cd "$tmp" && go build -o "$tmp/summarize" ./internal/summarize) || die "cannot build the output parser"

ml_dir=$(cd "$tmp" && go list -f '{{.Dir}}' github.com/hashicorp/memberlist)
ml_mod=$(cd "$tmp" && go list -m github.com/hashicorp/memberlist)
say "serf $serf_version against memberlist $ml_mod"
say "memberlist package dir: $ml_dir"
if [ "$upstream" = 0 ] && [ "${ml_dir#"$root"}" = "$ml_dir" ] && [ "${ml_dir#"$tmp"}" = "$ml_dir" ]; then
	die "the replace did not take effect"
fi

skip_re=""
if [ ! -S /dev/log ]; then
	skip_re='^TestSyslogFilter$'
	say "/dev/log is absent: skipping TestSyslogFilter"
fi

# listTests writes the top-level tests that a run of the package would start
# to $tmp/<tag>.list: listTests <pkg> <tag>. It fails when the package does not
# build.
listTests() {
	local pkg=$1 tag=$2
	(cd "$tmp" && go test -count=1 -list "${run_re:-.}" "$pkg") >"$logdir/$tag.list.log" 2>&1 || return 1
	grep -E '^(Test|Fuzz)' "$logdir/$tag.list.log" |
		{ if [ -n "$skip_re" ]; then grep -Ev "$skip_re"; else cat; fi; } >"$tmp/$tag.list" || true
}

# runPkg runs go test once on the tests named in a file: runPkg <pkg> <run>
# <list>. It leaves the parsed summary in $tmp/<run>.sum and the output in
# $logdir/<run>.{json,log}.
runPkg() {
	local pkg=$1 run=$2 list=$3 names
	mapfile -t names <"$list"
	local args=(-count=1 -p 1 -json -timeout "$timeout" -run "^($(IFS='|'; echo "${names[*]}"))\$")
	[ -n "$skip_re" ] && args+=(-skip "$skip_re")
	(cd "$tmp" && go test "${args[@]}" "$pkg") >"$logdir/$run.json" 2>&1 || true
	"$tmp/summarize" "$logdir/$run.json" "$logdir/$run.log" "$list" >"$tmp/$run.sum"
}

# runSet gives each test named in a file one run: runSet <pkg> <tag> <list>.
# A test that a run did not reach, because another test hung or crashed the
# binary, goes into the next run, until every test has ended or a run ends
# none. It writes "<status> <name> <run>" lines to $tmp/<tag>.res, with status
# notrun for tests never reached, and the runs whose package failed outside
# any test to $tmp/<tag>.pkgfail.
runSet() {
	local pkg=$1 tag=$2 n=0 run before after
	: >"$tmp/$tag.res"
	: >"$tmp/$tag.pkgfail"
	cp "$3" "$tmp/$tag.pending"
	while [ -s "$tmp/$tag.pending" ]; do
		n=$((n + 1))
		run=$tag.$n
		runPkg "$pkg" "$run" "$tmp/$tag.pending"
		awk -v r="$run" '$1 != "package" && $1 != "notrun" { print $1, $2, r }' "$tmp/$run.sum" >>"$tmp/$tag.res"
		awk '$1 == "notrun" { print $2 }' "$tmp/$run.sum" >"$tmp/$tag.next"
		if [ "$(pkgStatus "$tmp/$run.sum")" != pass ] &&
			! awk '$1 == "fail" || $1 == "hung" || $1 == "notrun" { found = 1 } END { exit !found }' "$tmp/$run.sum"; then
			echo "$run" >>"$tmp/$tag.pkgfail"
		fi
		before=$(wc -l <"$tmp/$tag.pending")
		after=$(wc -l <"$tmp/$tag.next")
		if [ "$after" -ge "$before" ]; then
			awk -v r="$run" '{ print "notrun", $1, r }' "$tmp/$tag.next" >>"$tmp/$tag.res"
			break
		fi
		[ "$after" -eq 0 ] || say "${tag%.*}: $after tests not reached in run $n; running them next"
		mv "$tmp/$tag.next" "$tmp/$tag.pending"
	done
}

# tests prints the test lines of a summary; pkgStatus its package line's status.
tests() { awk '$1 != "package"' "$1"; }
pkgStatus() { awk '$1 == "package" { print $2 }' "$1"; }

passed=0 failed=0 skipped=0
failures=() notes=()
start_all=$(date +%s)
for pkg in "${pkgs[@]}"; do
	short=${pkg#github.com/hashicorp/serf/}
	tag=${short//\//_}
	t0=$(date +%s)
	if ! listTests "$pkg" "$tag"; then
		tail -n "$tail_lines" "$logdir/$tag.list.log" >&2
		failed=$((failed + 1))
		failures+=("$short [does not build: see $logdir/$tag.list.log]")
		say "$short: does not build"
		continue
	fi
	# First try: every test. The final file has "<status> <name> <run>" and,
	# for retried tests, the first try's status and run after them.
	runSet "$pkg" "$tag.a" "$tmp/$tag.list"
	cp "$tmp/$tag.a.res" "$tmp/$tag.final"
	awk '$1 == "fail" || $1 == "hung" || $1 == "notrun" { print $2 }' "$tmp/$tag.a.res" >"$tmp/$tag.again"
	pkgfail=$tmp/$tag.a.pkgfail
	if [ -s "$tmp/$tag.again" ]; then
		say "$short: first try: $(awk '$1 ~ /^(fail|hung|notrun)$/ { printf "%s%s %s", sep, $2, $1; sep = ", " }' "$tmp/$tag.a.res"); trying those once more"
		runSet "$pkg" "$tag.b" "$tmp/$tag.again"
		awk 'NR == FNR { second[$2] = $0; next }
			($2 in second) { print second[$2], $1, $3; next }
			{ print }' "$tmp/$tag.b.res" "$tmp/$tag.a.res" >"$tmp/$tag.final"
		pkgfail=$tmp/$tag.b.pkgfail
	elif [ -s "$tmp/$tag.a.pkgfail" ]; then
		say "$short: the package failed outside any test; running it once more"
		runSet "$pkg" "$tag.b" "$tmp/$tag.list"
		cp "$tmp/$tag.b.res" "$tmp/$tag.final"
		pkgfail=$tmp/$tag.b.pkgfail
	fi
	p=0 f=0 s=0
	while read -r st name _ was _; do
		case $st in
		pass) p=$((p + 1)) ;;
		skip) s=$((s + 1)) ;;
		*) f=$((f + 1)) ;;
		esac
		case $st in
		pass | skip)
			if [ "$was" = fail ] || [ "$was" = hung ]; then
				notes+=("$short.$name: $was on the first try, $st on the retry")
			fi
			;;
		notrun) failures+=("$short.$name (never reached: another test hung or crashed each time)") ;;
		*) failures+=("$short.$name ($st${was:+; first try: $was})") ;;
		esac
	done <"$tmp/$tag.final"
	if [ "$f" -eq 0 ] && [ -s "$pkgfail" ]; then
		last=$(tail -n 1 "$pkgfail")
		f=1
		failures+=("$short [package failed outside any test: see $logdir/$last.log]")
		tail -n "$tail_lines" "$logdir/$last.log" >&2 || true
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	say "$short: $p passed, $f failed, $s skipped in $(($(date +%s) - t0))s"
done
elapsed=$(($(date +%s) - start_all))

# showTest prints a test's part of a run's text log: showTest <name> <log>.
showTest() {
	echo "=== output of $1 (last $tail_lines lines of its part of $2)" >&2
	awk -v t="$1" '
		$0 ~ "^=== (RUN|CONT|PAUSE|NAME) +" t "(/|$)" { on = 1 }
		$0 ~ "^=== (RUN|CONT|NAME) " && $0 !~ " " t "(/|$)" { on = 0 }
		/^panic: / { if (on) { print; panicked = 1 }; on = 0; next }
		panicked && /^(\trunning tests:|\t\t)/ { print; next }
		panicked { exit }
		on { print }
		$0 ~ "^--- (FAIL|PASS|SKIP): " t " " { on = 0 }' "$2" | tail -n "$tail_lines" >&2
}

# Show the output of each test that failed or hung: from the first try and,
# when it failed again, from the retry.
for pkg in "${pkgs[@]}"; do
	short=${pkg#github.com/hashicorp/serf/}
	tag=${short//\//_}
	[ -f "$tmp/$tag.final" ] || continue
	while read -r st name run was run1; do
		case ${was:-$st} in fail | hung) showTest "$name" "$logdir/${run1:-$run}.log" ;; esac
		if [ -n "$was" ]; then
			case $st in fail | hung) showTest "$name" "$logdir/$run.log" ;; esac
		fi
	done <"$tmp/$tag.final"
done

for n in "${notes[@]}"; do echo "flaky: $n"; done
for n in "${failures[@]}"; do echo "FAILED: $n"; done
echo "skipped: $skipped; wall time: ${elapsed}s; logs: $logdir$([ "$keep" = 1 ] || [ "$logdir" != "$tmp/logs" ] || echo ' (removed; use --keep)')"
echo "serf: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
