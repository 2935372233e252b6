#!/bin/sh
# Entry point of the faultmesh image. Outside --privileged, Docker mounts
# /proc/sys read-only; faultmesh writes sysctls of the namespaces it creates
# (IPv6 off in its fabric), so make this container's /proc/sys writable
# (needs CAP_SYS_ADMIN; the host's mounts are untouched). Then run faultmesh.
if [ ! -w /proc/sys/net/ipv6/conf/default/disable_ipv6 ] ||
    ! (: >>/proc/sys/net/ipv6/conf/default/disable_ipv6) 2>/dev/null; then
    mount -o remount,bind,rw /proc/sys 2>/dev/null ||
        echo "faultmesh image: /proc/sys is read-only and cannot be remounted (add CAP_SYS_ADMIN)" >&2
fi
exec /usr/local/bin/faultmesh "$@"
