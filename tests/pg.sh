#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: `tests/pg.sh start DIR`
# prints the URL; `tests/pg.sh stop DIR` stops it and removes DIR;
# `tests/pg.sh pause DIR` / `resume DIR` stop and start it keeping the data
# (`ctl DIR stop|start` does the same for tests that append the verb).
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/pg_ctl" ] || { echo "pg.sh: PostgreSQL server binaries not found" >&2; exit 1; }
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
port_file=$dir/port
pg_start() {
	as_pg "$bin/pg_ctl" -D "$dir/data" -w -t 30 -l "$dir/log" \
		-o "-p $(cat "$port_file") -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
		start >/dev/null
}
case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >/dev/null
	# A free port: ask the kernel.
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' >"$port_file"
	pg_start
	echo "postgres://postgres@127.0.0.1:$(cat "$port_file")/postgres"
	;;
pause)
	as_pg "$bin/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null
	;;
resume)
	pg_start
	;;
ctl) # ctl DIR stop|start: for tests that take "a command given stop or start"
	case ${3:-} in
	stop) as_pg "$bin/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null ;;
	start) pg_start ;;
	*) echo "usage: tests/pg.sh ctl DIR stop|start" >&2; exit 2 ;;
	esac
	;;
stop)
	as_pg "$bin/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "usage: tests/pg.sh start|stop|pause|resume DIR" >&2
	exit 2
	;;
esac
