// Static files placed into the VM's base initramfs.

/** PID 1 of the VM (busybox ash). Reads /etc/clusterform/vm.conf (per-VM cpio). */
export const INIT_SCRIPT = String.raw`#!/usr/bin/busybox sh
# clusterform lab VM init (PID 1)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
BB=/usr/bin/busybox
trap '' TERM INT HUP USR1 USR2 PWR QUIT

$BB mount -t proc proc /proc
$BB mount -t sysfs sysfs /sys
$BB mount -t devtmpfs devtmpfs /dev 2>/dev/null
$BB mkdir -p /dev/pts /dev/shm /run /tmp
$BB mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
$BB mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
$BB mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
$BB mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
[ -e /dev/fd ] || $BB ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || $BB ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || $BB ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || $BB ln -s /proc/self/fd/2 /dev/stderr
$BB mkdir -p /run/sshd /run/lock /var/lib /var/log /var/tmp /var/cache
$BB chmod 755 /run/sshd
[ -e /var/lock ] || $BB ln -s /run/lock /var/lock
[ -e /var/run ] || $BB ln -s /run /var/run
echo /sbin/modprobe > /proc/sys/kernel/modprobe
# the initramfs root is a tmpfs capped at 50% of RAM by default; allow it to grow
$BB mount -o remount,size=85% / 2>/dev/null

echo "cf-init: loading virtio drivers"
for m in virtio virtio_ring virtio_pci virtio_net virtio_blk virtio_rng virtio_balloon; do
  /sbin/modprobe -q $m 2>/dev/null
done
# wait for devices to show up
i=0
while [ $i -lt 50 ]; do
  [ -d /sys/class/net/eth0 ] && break
  $BB usleep 100000; i=$((i+1))
done

# /etc/clusterform/vm.conf lines: "hostname <name>", "nic <mac> <addr/prefix>", "disk <serial> <id>"
CONF=/etc/clusterform/vm.conf
h=$($BB awk '$1=="hostname"{print $2}' $CONF)
[ -n "$h" ] && $BB hostname "$h"
$BB ip link set lo up

$BB grep '^nic ' $CONF | while read _ mac addr; do
  dev=
  for d in /sys/class/net/*; do
    [ "$($BB cat $d/address 2>/dev/null)" = "$mac" ] && dev=$($BB basename $d)
  done
  if [ -n "$dev" ]; then
    /sbin/ip link set "$dev" up
    /sbin/ip addr add "$addr" dev "$dev"
    echo "cf-init: $dev ($mac) = $addr"
  else
    echo "cf-init: no interface with mac $mac" >&2
  fi
done

# /dev/disk/by-id/<id> links: match virtio serial, fall back to order
$BB mkdir -p /dev/disk/by-id
: > /run/cf-disk-ids
n=0
$BB grep '^disk ' $CONF | while read _ serial id; do
  n=$((n+1))
  dev=
  for b in /sys/block/vd*; do
    [ -e "$b" ] || continue
    [ "$($BB cat $b/serial 2>/dev/null)" = "$serial" ] && dev=$($BB basename $b)
  done
  if [ -z "$dev" ]; then
    dev=vd$(echo abcdefghijklmnopqrstuvwxyz | $BB cut -c$n)
    [ -e /sys/block/$dev ] || dev=
  fi
  if [ -n "$dev" ]; then
    echo "$dev $id" >> /run/cf-disk-ids
    echo "cf-init: /dev/$dev = $id"
  else
    echo "cf-init: disk $id (serial $serial) not found" >&2
  fi
done
/usr/local/sbin/cf-disk-links

# refresh by-id partition links on hotplug (mdev in netlink daemon mode)
$BB mdev -d -f </dev/null >/dev/null 2>&1 &

sysctl -q -w kernel.printk="3 4 1 3" 2>/dev/null
echo "cf-init: starting sshd"
while true; do
  /usr/sbin/sshd -D -e
  echo "cf-init: sshd exited ($?), restarting" >&2
  $BB sleep 1
done
`;

/** (Re)creates /dev/disk/by-id/<id> and <id>-partN links from /run/cf-disk-ids. */
export const DISK_LINKS_SCRIPT = String.raw`#!/usr/bin/busybox sh
BB=/usr/bin/busybox
[ -f /run/cf-disk-ids ] || exit 0
$BB mkdir -p /dev/disk/by-id
while read dev id; do
  [ -n "$dev" ] || continue
  $BB ln -sfn ../../$dev /dev/disk/by-id/$id
  for l in /dev/disk/by-id/$id-part*; do
    [ -L "$l" ] || continue
    p=$($BB basename "$($BB readlink "$l")")
    [ -e /sys/class/block/$p ] || $BB rm -f "$l"
  done
  for p in /sys/block/$dev/$dev*; do
    [ -e "$p/partition" ] || continue
    pn=$($BB cat $p/partition); pd=$($BB basename $p)
    $BB ln -sfn ../../$pd /dev/disk/by-id/$id-part$pn
  done
done < /run/cf-disk-ids
exit 0
`;

/** No udev in the guest: 'udevadm settle|trigger' just refresh the by-id links. */
export const UDEVADM_SHIM = String.raw`#!/usr/bin/busybox sh
# clusterform lab VM: minimal udevadm stand-in (no udev; mdev -d maintains /dev/disk/by-id links)
case "$1" in
  settle|trigger) /usr/bin/busybox usleep 300000; /usr/local/sbin/cf-disk-links; exit 0 ;;
  --version|version) echo 252; exit 0 ;;
  *) echo "udevadm: '$1' not supported in the clusterform lab VM" >&2; exit 0 ;;
esac
`;

export const MDEV_CONF = `vd[a-z]+[0-9]* 0:6 0660 */usr/local/sbin/cf-disk-links
`;

export const SSHD_CONFIG = `# clusterform lab VM
Port 22
ListenAddress 0.0.0.0
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
StrictModes no
AuthorizedKeysFile .ssh/authorized_keys
MaxStartups 200:30:400
MaxSessions 100
AllowTcpForwarding yes
X11Forwarding no
AcceptEnv LANG LC_*
PidFile /run/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
`;

export const PASSWD = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
export const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
disk:x:6:
nogroup:x:65534:
`;
export const SHADOW = `root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
sys:*:19000:0:99999:7:::
sshd:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
`;
export const NSSWITCH = `passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
`;
export const PROFILE = `export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
`;
