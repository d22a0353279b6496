#!/bin/sh
# Loads /seed/*.ldif into an empty database, then runs slapd in the foreground.
set -eu
db=/var/lib/ldap
if [ ! -e "$db/data.mdb" ]; then
  for f in /seed/*.ldif; do
    [ -e "$f" ] || continue
    slapadd -q -f /etc/ldap/slapd.conf -l "$f"
  done
fi
exec slapd -d 0 -f /etc/ldap/slapd.conf -h "ldap://0.0.0.0:389/"
