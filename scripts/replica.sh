#!/bin/sh
# A streaming read replica of the local PostgreSQL, on the same machine (docs/deployment.md,
# "Read replica"): a second cluster on port 5433 made with pg_basebackup -R from the primary
# on 5432, for trying DATABASE_REPLICA_URL and measuring it. Debian's postgresql-common
# (pg_createcluster, pg_ctlcluster) manages it beside the primary, so pg_lsclusters lists
# both. Run it as root.
#
#   sh scripts/replica.sh up        create the replica if missing, start it, check it streams
#   sh scripts/replica.sh status    recovery, streaming state and lag
#   sh scripts/replica.sh down      stop it (its data stays; `up` starts it again)
#   sh scripts/replica.sh remove    stop it and delete it (`up` makes a new copy)
#   sh scripts/replica.sh recreate  remove, then up: a fresh copy of the primary
#
# The primary is never stopped or restarted. It needs wal_level replica (or logical) and
# max_wal_senders > 0 (PostgreSQL's defaults; changing them needs a restart, which this
# script refuses to do), and must accept replication connections from 127.0.0.1: if it does
# not, one pg_hba.conf line is added (trust, like this machine's other local lines) and the
# primary reloaded. No replication slot is made, so a stopped replica never makes the
# primary keep WAL: after a long stop it may have fallen too far behind to catch up, and
# `recreate` copies the primary afresh.
set -eu

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_NAME=${REPLICA_NAME:-replica}
PG_USER=${PG_USER:-postgres}
WAIT_SECONDS=${WAIT_SECONDS:-60}

say() { printf 'replica: %s\n' "$*"; }
die() {
    printf 'replica: %s\n' "$*" >&2
    exit 1
}

for tool in psql pg_basebackup pg_createcluster pg_ctlcluster pg_dropcluster pg_lsclusters runuser; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (this script uses Debian's postgresql-common; docs/deployment.md gives the plain PostgreSQL steps)"
done
[ "$(id -u)" = 0 ] || die "run it as root (it creates a cluster owned by $PG_USER)"

# One value from the primary, the replica, or a replication connection to the primary.
primary() { psql -X -At -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_USER" -d postgres -c "$1"; }
standby() { psql -X -At -h 127.0.0.1 -p "$REPLICA_PORT" -U "$PG_USER" -d postgres -c "$1"; }
replication_allowed() {
    psql -X -At "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$PG_USER replication=true" \
        -c "IDENTIFY_SYSTEM" >/dev/null 2>&1
}
as_owner() { runuser -u "$PG_USER" -- "$@"; }

primary "SELECT 1" >/dev/null || die "the primary does not answer at $PRIMARY_HOST:$PRIMARY_PORT"
VERSION=$(primary "SELECT current_setting('server_version_num')::int / 10000")
DATA_DIR=/var/lib/postgresql/$VERSION/$REPLICA_NAME
CONF_DIR=/etc/postgresql/$VERSION/$REPLICA_NAME
# The walreceiver names itself after the replica's cluster_name (Debian: VERSION/NAME), which
# is how the primary's pg_stat_replication tells this replica from any other.
APP_NAME=$VERSION/$REPLICA_NAME

exists() { [ -f "$CONF_DIR/postgresql.conf" ]; }
running() { standby "SELECT 1" >/dev/null 2>&1; }

check_primary() {
    wal_level=$(primary "SHOW wal_level")
    senders=$(primary "SHOW max_wal_senders")
    case $wal_level in
        replica | logical) ;;
        *) die "the primary has wal_level=$wal_level: set it to replica and restart it (not done here)" ;;
    esac
    [ "$senders" -gt 0 ] || die "the primary has max_wal_senders=0: raise it and restart it (not done here)"
    if replication_allowed; then
        return
    fi
    hba=$(primary "SHOW hba_file")
    line="host    replication     $PG_USER        127.0.0.1/32            trust"
    if ! grep -q '^host[[:space:]]*replication[[:space:]].*127\.0\.0\.1/32' "$hba"; then
        say "the primary refuses replication connections from 127.0.0.1: adding to $hba:"
        say "  $line"
        printf '# Added by scripts/replica.sh: the local streaming replica.\n%s\n' "$line" >>"$hba"
    fi
    say "reloading the primary (pg_reload_conf(); it keeps running)"
    primary "SELECT pg_reload_conf()" >/dev/null
    sleep 1
    replication_allowed || die "the primary still refuses replication from 127.0.0.1: see $hba and its log"
}

# The replica's own settings, in a file of its conf.d (Debian's postgresql.conf includes it).
# A standby must allow at least as many connections, workers, ... as its primary, or it
# refuses to start: those are copied from the primary.
write_settings() {
    {
        echo "# Written by scripts/replica.sh: a streaming replica of $PRIMARY_HOST:$PRIMARY_PORT."
        echo "listen_addresses = '127.0.0.1'"
        echo "hot_standby = on"
        for name in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
            echo "$name = $(primary "SHOW $name")"
        done
    } >"$CONF_DIR/conf.d/50-replica.conf"
    # Whoever may connect to the primary may connect to its replica, the same way.
    cp "$(primary "SHOW hba_file")" "$CONF_DIR/pg_hba.conf"
}

create() {
    check_primary
    say "creating cluster $VERSION/$REPLICA_NAME on port $REPLICA_PORT ($DATA_DIR)"
    # Its settings live in $CONF_DIR (Debian keeps them outside the data directory, so the
    # copy below brings none of the primary's); not started at boot: it is for trying out.
    pg_createcluster --start-conf=manual -p "$REPLICA_PORT" -d "$DATA_DIR" \
        "$VERSION" "$REPLICA_NAME" >/dev/null
    # A copy that fails half way is dropped, so the next `up` starts clean.
    trap 'pg_dropcluster "$VERSION" "$REPLICA_NAME"; say "the copy failed: removed $VERSION/$REPLICA_NAME"' EXIT
    # initdb's empty cluster is replaced by a copy of the primary (the directory stays, with
    # its owner and mode).
    find "$DATA_DIR" -mindepth 1 -delete
    write_settings
    say "copying the primary with pg_basebackup (a fast checkpoint on the primary, then its files)"
    # -R writes standby.signal and primary_conninfo: the copy starts as a streaming standby.
    # -X stream streams the WAL written during the copy, so the copy is consistent by itself.
    as_owner pg_basebackup -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_USER" -D "$DATA_DIR" \
        -R -X stream -c fast
    trap - EXIT
}

wait_until() {
    # wait_until SECONDS COMMAND...: true once COMMAND succeeds, false if time runs out
    limit=$1
    shift
    waited=0
    until "$@"; do
        [ "$waited" -lt "$limit" ] || return 1
        sleep 1
        waited=$((waited + 1))
    done
}

in_recovery() { [ "$(standby "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ]; }
streaming() {
    [ "$(primary "SELECT state FROM pg_stat_replication WHERE application_name = '$APP_NAME'")" = streaming ]
}

report() {
    say "cluster: $(pg_lsclusters --no-header "$VERSION" "$REPLICA_NAME" 2>/dev/null | tr -s ' ')"
    if ! running; then
        say "not running"
        return 1
    fi
    say "in recovery (a read-only standby): $(standby "SELECT pg_is_in_recovery()")"
    say "its WAL receiver: $(standby "SELECT status || ' from ' || sender_host || ':' || sender_port FROM pg_stat_wal_receiver")"
    say "the primary's pg_stat_replication: $(primary "SELECT state || ', sent ' || sent_lsn || ', replayed ' || replay_lsn || ', replay_lag ' || coalesce(replay_lag::text, 'none (nothing to replay)') FROM pg_stat_replication WHERE application_name = '$APP_NAME'")"
    say "DATABASE_REPLICA_URL=postgres://$PG_USER@127.0.0.1:$REPLICA_PORT/<the primary's database name>"
}

up() {
    if ! exists; then
        create
    elif [ ! -f "$DATA_DIR/standby.signal" ]; then
        die "cluster $VERSION/$REPLICA_NAME exists but is not a standby: remove it yourself (pg_dropcluster)"
    fi
    if ! running; then
        say "starting $VERSION/$REPLICA_NAME"
        pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$REPLICA_NAME" start
    fi
    wait_until "$WAIT_SECONDS" in_recovery ||
        die "the replica did not come up in recovery: see /var/log/postgresql/postgresql-$VERSION-$REPLICA_NAME.log"
    wait_until "$WAIT_SECONDS" streaming ||
        die "the replica does not stream from the primary (too far behind after a long stop? try: $0 recreate)"
    report
}

down() {
    if exists && running; then
        pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$REPLICA_NAME" stop
        say "stopped $VERSION/$REPLICA_NAME (\`$0 up\` starts it again)"
    else
        say "$VERSION/$REPLICA_NAME is not running"
    fi
}

remove() {
    if exists; then
        pg_dropcluster --stop "$VERSION" "$REPLICA_NAME"
        say "removed $VERSION/$REPLICA_NAME and its data (the primary's pg_hba.conf line stays)"
    else
        say "no cluster $VERSION/$REPLICA_NAME"
    fi
}

case ${1:-} in
    up) up ;;
    status) exists || die "no cluster $VERSION/$REPLICA_NAME (\`$0 up\` makes it)" && report ;;
    down) down ;;
    remove) remove ;;
    recreate) remove && up ;;
    *) die "usage: $0 up|status|down|remove|recreate" ;;
esac
