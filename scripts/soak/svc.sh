#!/bin/sh
# One soak service: `svc.sh MODE NAME SIDEFILE`. Every tracked line is
# `L NAME NONCE N [rest]`; it is written to stdout (or stderr) first and only
# after the write returned appended to SIDEFILE, so every side-file line must
# appear exactly once in the supervisor's output, whatever gets killed when.
mode=$1 name=$2 side=$3
nonce="$$.$(date +%s%N)"
n=0

# emit STREAM [REST]: one tracked line, then its side-file record.
emit() {
  n=$((n + 1))
  if [ "$1" = err ]; then
    printf 'L %s %s %d %s\n' "$name" "$nonce" "$n" "$2" >&2 || return
  else
    printf 'L %s %s %d %s\n' "$name" "$nonce" "$n" "$2" || return
  fi
  echo "L $name $nonce $n $2" >>"$side"
}

# A random number 0..$1-1 (dash has no $RANDOM).
rand() {
  r=$(od -An -N2 -tu2 /dev/urandom)
  echo $((r % $1))
}

steady() { # print a line every 0.2 s, forever
  while :; do
    emit "${1:-out}" tick
    sleep 0.2
  done
}

case $mode in
steady) steady ;;
ignore) # ignore SIGTERM (the whole group inherits it): only SIGKILL ends it
  trap '' TERM
  steady ;;
forker) # grandchildren in the same group, reaped by this shell
  sleep 1000 &
  sleep 1000 &
  steady ;;
waiter) # exactly `sleep 1000 & sleep 1000 & wait`: exits once both are killed
  emit out start
  sleep 1000 &
  sleep 1000 &
  wait ;;
orphan) # double fork: the daemon's parent exits at once, it re-parents to the supervisor
  (sleep 1000 &)
  (sh -c 'while :; do sleep 1; done' &)
  steady ;;
daemon) # a setsid daemon (own session, out of the group's reach) that ignores SIGTERM
  setsid -f sh -c 'trap "" TERM; sleep 30' </dev/null # keeps the service's pipes open
  steady ;;
flood) # bursts of short lines, one 40 kB line (cut into pieces), one line written in two parts
  long=$(printf '%040000d' 0)
  while :; do
    i=0
    while [ $i -lt 100 ]; do
      i=$((i + 1))
      emit out "burst-line-padding-padding-padding-padding-padding-padding-padding-$i"
    done
    n=$((n + 1))
    printf 'L %s %s %d %s\n' "$name" "$nonce" "$n" "$long" || exit 1
    echo "L $name $nonce $n LONG" >>"$side"
    n=$((n + 1))
    printf 'L %s %s %d part1-' "$name" "$nonce" "$n" || exit 1
    sleep 0.05
    printf 'part2\n' || exit 1
    echo "L $name $nonce $n part1-part2" >>"$side"
    sleep 0.3
  done ;;
closeout) # close stdout early, keep going on stderr
  emit out before-close
  emit out before-close
  exec 1>&-
  steady err ;;
trailer) # a last line without a newline, then exit after a random delay
  emit out first
  n=$((n + 1))
  printf 'L %s %s %d %s' "$name" "$nonce" "$n" partial-last
  echo "L $name $nonce $n partial-last" >>"$side"
  sleep "$(rand 3).$(rand 10)"
  exit 0 ;;
randexit) # run for a random 0-4 s, then fail
  end=$(($(date +%s) + $(rand 5)))
  while [ "$(date +%s)" -lt "$end" ]; do
    emit out tick
    sleep 0.2
  done
  exit 1 ;;
crash) # a crash loop: fail at once, every time
  emit err "cannot start"
  exit 3 ;;
once) # exit 0 at once (restart = on-failure: ends `exited`; oneshot: `completed`)
  emit out done
  exit 0 ;;
*)
  echo "svc.sh: unknown mode $mode" >&2
  exit 64 ;;
esac
