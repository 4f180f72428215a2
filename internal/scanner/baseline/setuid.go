package baseline

import "strings"

// defaultSetuid lists the setuid/setgid programs that distribution base
// images ship, or that the packages below need to work at all. Sources:
//   - Debian 12 (debootstrap --variant=minbase bookworm, checked file by
//     file): su, mount, umount, passwd, chsh, chfn, gpasswd, newgrp
//     (setuid root); chage, expiry, unix_chkpwd (setgid shadow);
//   - Ubuntu 24.04 base: the same, plus pam_extrausers_chkpwd;
//   - Alpine: the base image has none; busybox-suid installs /bin/bbsuid
//     (mode 4111) so that busybox applets such as passwd and su can work;
//   - RHEL/UBI and Fedora: unix_chkpwd, pam_timestamp_check and chage are
//     setuid root there, write is setgid tty, utempter setgid utmp;
//   - common packages whose helpers only work setuid/setgid: openssh-client
//     (ssh-keysign), dbus (dbus-daemon-launch-helper), cron (crontab),
//     bsdutils (wall, write), liblockfile (dotlockfile), fuse
//     (fusermount), uidmap (newuidmap, newgidmap), iputils (ping, older
//     releases), openssh (ssh-agent, setgid in older Debian).
//
// sudo, pkexec, at and mail transfer agents are left out on purpose: they
// are privilege-escalation tools an image should not carry unless someone
// decided so, and Options.SetuidAllowlist is where that decision goes.
var defaultSetuid = []string{
	"/usr/bin/su", "/usr/bin/mount", "/usr/bin/umount", "/usr/bin/passwd", "/usr/bin/chsh", "/usr/bin/chfn",
	"/usr/bin/gpasswd", "/usr/bin/newgrp", "/usr/bin/chage", "/usr/bin/expiry", "/usr/sbin/unix_chkpwd",
	"/usr/sbin/pam_extrausers_chkpwd", "/usr/sbin/pam_timestamp_check",
	"/bin/bbsuid",
	"/usr/bin/write", "/usr/bin/bsd-write", "/usr/bin/wall", "/usr/bin/crontab", "/usr/bin/dotlockfile",
	"/usr/bin/ssh-agent", "/usr/lib/openssh/ssh-keysign", "/usr/libexec/openssh/ssh-keysign",
	"/usr/lib/dbus-1.0/dbus-daemon-launch-helper", "/usr/libexec/dbus-daemon-launch-helper",
	"/usr/bin/fusermount", "/usr/bin/fusermount3", "/usr/bin/newuidmap", "/usr/bin/newgidmap",
	"/usr/bin/ping", "/usr/bin/ping6", "/usr/libexec/utempter/utempter",
}

// DefaultSetuidAllowlist returns the built-in allowlist of setuid/setgid
// programs. A path under /usr also allows the same path without /usr and
// the other way round (merged and split /usr layouts).
func DefaultSetuidAllowlist() []string { return append([]string(nil), defaultSetuid...) }

// canonicalBinPath maps io/fs paths of merged and split /usr layouts to one
// form: "usr/bin/su" and "bin/su" are both "bin/su".
func canonicalBinPath(p string) string {
	return strings.TrimPrefix(p, "usr/")
}
