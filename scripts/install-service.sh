#!/bin/sh
# Sets miredo-ts up as a system service after `npm install -g miredo-ts`, as a distribution
# package's maintainer scripts would, and undoes it with --remove.
#
#   install-service.sh [--root DIR] [--bindir DIR] [--remove]
#
# Install: creates the system user `miredo` (the engine's unprivileged user) unless it exists,
# installs systemd/miredo.service and systemd/miredo-server.service into /etc/systemd/system
# (their /usr/local/bin paths rewritten to --bindir, by default where `miredo` is found on PATH),
# and the sample configurations as /etc/miredo/miredo.conf and /etc/miredo/miredo-server.conf if
# those are absent. It enables and starts nothing: edit the configuration, then
# `systemctl enable --now miredo` (or miredo-server).
#
# Remove: stops and disables the two units, deletes them, and deletes what the installation
# created (recorded in /var/lib/miredo-ts/install-service.manifest): the user, and the sample
# configurations unless they were edited since.
#
# --root DIR works on another root directory (an image being built, a test); systemctl is then
# not called.
set -eu

root=
bindir=
action=install
while [ $# -gt 0 ]; do
	case "$1" in
	--root) root=${2:?--root needs a directory}; shift 2 ;;
	--bindir) bindir=${2:?--bindir needs a directory}; shift 2 ;;
	--remove) action=remove; shift ;;
	-h | --help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "install-service: unknown argument: $1" >&2; exit 2 ;;
	esac
done
root=${root%/}
if [ "$(id -u)" -ne 0 ]; then
	echo "install-service: must run as root" >&2
	exit 1
fi

package=$(cd "$(dirname "$0")/.." && pwd)
user=miredo
units="miredo.service miredo-server.service"
unitdir=$root/etc/systemd/system
confdir=$root/etc/miredo
manifest=$root/var/lib/miredo-ts/install-service.manifest
live=no
if [ -z "$root" ] && [ -d /run/systemd/system ]; then live=yes; fi

say() { echo "install-service: $*"; }
user_exists() {
	if [ -n "$root" ]; then grep -q "^$user:" "$root/etc/passwd"; else getent passwd "$user" >/dev/null; fi
}
record() { echo "$1" >>"$manifest"; }
recorded() { [ -f "$manifest" ] && grep -qxF "$1" "$manifest"; }

install_service() {
	if [ -z "$bindir" ]; then
		found=$(command -v miredo || true)
		bindir=$(dirname "${found:-/usr/local/bin/miredo}")
	fi
	mkdir -p "$(dirname "$manifest")" "$unitdir" "$confdir"
	touch "$manifest"

	if user_exists; then
		say "user $user exists"
	else
		useradd ${root:+--root "$root"} --system --user-group --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin --comment "miredo-ts engine" "$user"
		recorded "user $user" || record "user $user"
		say "created the system user $user"
	fi

	for unit in $units; do
		sed "s#/usr/local/bin/#$bindir/#g" "$package/systemd/$unit" >"$unitdir/$unit.tmp"
		chmod 644 "$unitdir/$unit.tmp"
		mv "$unitdir/$unit.tmp" "$unitdir/$unit"
		say "installed $unitdir/$unit (commands in $bindir)"
	done

	for pair in miredo.conf:miredo.conf miredo-server.conf:miredo-server.conf; do
		sample=$package/examples/${pair%%:*}
		target=$confdir/${pair##*:}
		if [ -e "$target" ]; then
			say "kept the existing $target"
		else
			install -m 644 "$sample" "$target"
			record "config $target $(sha256sum <"$target" | cut -d' ' -f1)"
			say "installed the sample $target: edit it before starting the service"
		fi
	done

	if [ "$live" = yes ]; then systemctl daemon-reload; fi
	say "done; then: systemctl enable --now miredo (or miredo-server)"
}

remove_service() {
	for unit in $units; do
		if [ "$live" = yes ]; then systemctl disable --now "$unit" >/dev/null 2>&1 || true; fi
		if [ -e "$unitdir/$unit" ]; then
			rm -f "$unitdir/$unit"
			say "removed $unitdir/$unit"
		fi
	done
	if [ "$live" = yes ]; then systemctl daemon-reload; fi

	if [ -f "$manifest" ]; then
		while read -r kind what checksum; do
			case "$kind" in
			config)
				if [ -e "$what" ] && [ "$(sha256sum <"$what" | cut -d' ' -f1)" = "$checksum" ]; then
					rm -f "$what"
					say "removed $what"
				elif [ -e "$what" ]; then
					say "kept $what: edited since it was installed"
				fi
				;;
			user)
				userdel ${root:+--root "$root"} "$what"
				say "removed the user $what"
				;;
			esac
		done <"$manifest"
		rm -f "$manifest"
		rmdir "$(dirname "$manifest")" "$confdir" 2>/dev/null || true
	fi
	say "done"
}

"${action}_service"
