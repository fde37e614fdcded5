import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  clusterKey,
  parseConfigVersion,
  parseViewNumber,
  renderClusterConf,
  renderClusterXml,
  stripVersion,
  type ClusterXmlContext,
} from '../../src/parsers/clusterconf.js';

const fx = (n: string) => readFileSync(new URL(`../fixtures/${n}`, import.meta.url), 'utf8');

const ctx: ClusterXmlContext = {
  cluster: 'hacluster',
  viewnumber: 3,
  members: [
    { id: 0, name: 'node1' },
    { id: 1, name: 'node2' },
  ],
  quorum: { primary: '/dev/raw/raw1', shadow: '/dev/raw/raw2' },
  services: [
    {
      id: 0,
      name: 'HA-NFS',
      address: '192.168.1.11',
      device: '/dev/sdb3',
      mountpoint: '/mnt/hanfs',
      fstype: 'ext3',
      nfs: { export: '/mnt/hanfs', clients: '*', options: 'rw,sync' },
    },
  ],
};

describe('cluster.xml (clumanager 1.2)', () => {
  it('renders the full document', () => {
    expect(renderClusterXml(ctx)).toBe(`<?xml version="1.0"?>
<cluconfig version="3.0">
  <clumembd broadcast="no" interval="500000" loglevel="4" multicast="yes" multicast_ipaddress="225.0.0.11" thread="yes" tko_count="20"/>
  <cluquorumd loglevel="6" pinginterval="" tiebreaker_ip=""/>
  <clurmtabd loglevel="4" pollinterval="4"/>
  <clusvcmgrd loglevel="4"/>
  <clulockd loglevel="4"/>
  <cluster config_viewnumber="3" key="${clusterKey('hacluster')}" name="hacluster"/>
  <sharedstate driver="libsharedraw.so" rawprimary="/dev/raw/raw1" rawshadow="/dev/raw/raw2" type="raw"/>
  <members>
    <member id="0" name="node1" watchdog="yes"/>
    <member id="1" name="node2" watchdog="yes"/>
  </members>
  <services>
    <service checkinterval="0" failoverdomain="None" id="0" name="HA-NFS" userscript="None">
      <service_ipaddresses>
        <service_ipaddress broadcast="None" id="0" ipaddress="192.168.1.11" netmask="None"/>
      </service_ipaddresses>
      <device id="0" name="/dev/sdb3" sharename="">
        <mount forceunmount="yes" fstype="ext3" mountpoint="/mnt/hanfs" options=""/>
        <nfsexport id="0" name="/mnt/hanfs">
          <client id="0" name="*" options="rw,sync"/>
        </nfsexport>
      </device>
    </service>
  </services>
</cluconfig>
`);
  });
  it('daemon defaults match the RHCS 3 manual', () => {
    const ref = fx('cluster.xml.rhcs3.partial.txt').replace(/ \\ *\n\s*/g, ' ');
    const out = renderClusterXml(ctx);
    for (const tag of ['<clumembd ', '<cluquorumd ', '<clurmtabd ', '<clusvcmgrd ', '<clulockd ', '<cluconfig ']) {
      const line = ref.split('\n').find((l) => l.includes(tag))!.trim();
      expect(out).toContain(line);
    }
    expect(out).toContain('<sharedstate driver="libsharedraw.so" rawprimary="/dev/raw/raw1" rawshadow="/dev/raw/raw2" type="raw"/>');
  });
  it('stable key and byte-identical output', () => {
    expect(clusterKey('hacluster')).toMatch(/^[0-9a-f]{32}$/);
    expect(clusterKey('hacluster')).toBe(clusterKey('hacluster'));
    expect(clusterKey('other')).not.toBe(clusterKey('hacluster'));
    expect(renderClusterXml(ctx)).toBe(renderClusterXml(structuredClone(ctx)));
    expect(renderClusterXml({ ...ctx, key: '7a497d303feefeef0f8be9b72697aaed' })).toContain('key="7a497d303feefeef0f8be9b72697aaed"');
  });
  it('service without nfs has no nfsexport', () => {
    const out = renderClusterXml({ ...ctx, services: [{ ...ctx.services[0]!, nfs: undefined }] });
    expect(out).not.toContain('nfsexport');
    expect(out).toContain('<mount forceunmount="yes" fstype="ext3" mountpoint="/mnt/hanfs" options=""/>\n      </device>');
  });
  it('escapes & " < in attribute values', () => {
    const out = renderClusterXml({
      ...ctx,
      cluster: 'a&b"c<d>',
      services: [{ ...ctx.services[0]!, name: `x"&<'y`, nfs: { export: '/e', clients: '10.0.0.0/24', options: 'rw' } }],
    });
    expect(out).toContain('name="a&amp;b&quot;c&lt;d&gt;"');
    expect(out).toContain('name="x&quot;&amp;&lt;&#x27;y"');
    expect(out).not.toMatch(/="[^"]*<[^"]*"/);
  });
  it('parseViewNumber / stripVersion', () => {
    const a = renderClusterXml(ctx);
    expect(parseViewNumber(a)).toBe(3);
    expect(parseViewNumber(fx('cluster.xml.rhcs3.partial.txt'))).toBe(18);
    expect(parseViewNumber('<cluconfig/>')).toBeNull();
    const b = renderClusterXml({ ...ctx, viewnumber: 4 });
    expect(a).not.toBe(b);
    expect(stripVersion(a)).toBe(stripVersion(b));
    expect(stripVersion(a)).toContain('config_viewnumber="X"');
    expect(stripVersion(a)).not.toBe(stripVersion(renderClusterXml({ ...ctx, cluster: 'other' })));
  });
  it('rejects a bad key', () => expect(() => renderClusterXml({ ...ctx, key: 'nothex' })).toThrow());
});

describe('cluster.conf (cman/rgmanager)', () => {
  const out = renderClusterConf({ ...ctx, version: 7 });
  it('renders the full document', () => {
    expect(out).toBe(`<?xml version="1.0"?>
<cluster name="hacluster" config_version="7">
  <cman two_node="1" expected_votes="1"/>
  <clusternodes>
    <clusternode name="node1" nodeid="1">
      <fence/>
    </clusternode>
    <clusternode name="node2" nodeid="2">
      <fence/>
    </clusternode>
  </clusternodes>
  <fencedevices/>
  <rm>
    <failoverdomains>
      <failoverdomain name="hacluster-domain" ordered="1" restricted="1">
        <failoverdomainnode name="node1" priority="1"/>
        <failoverdomainnode name="node2" priority="2"/>
      </failoverdomain>
    </failoverdomains>
    <resources>
      <ip address="192.168.1.11" monitor_link="1"/>
      <fs name="HA-NFS-fs" device="/dev/sdb3" mountpoint="/mnt/hanfs" fstype="ext3" force_unmount="1"/>
      <nfsexport name="HA-NFS-export"/>
      <nfsclient name="HA-NFS-client" target="*" options="rw,sync"/>
    </resources>
    <service name="HA-NFS" domain="hacluster-domain" autostart="1" recovery="relocate" nfslock="1">
      <ip ref="192.168.1.11"/>
      <fs ref="HA-NFS-fs">
        <nfsexport ref="HA-NFS-export">
          <nfsclient ref="HA-NFS-client"/>
        </nfsexport>
      </fs>
    </service>
  </rm>
</cluster>
`);
  });
  it('same element structure as the clufter reference', () => {
    const ref = fx('cluster.conf.clufter-test1.xml');
    for (const tag of ['<clusternodes>', '<rm>', '<failoverdomains>', '<failoverdomain ', '<resources>', '<service ', '<nfsexport ref=', '<nfsclient ref=', '<ip ref=']) {
      expect(ref).toContain(tag);
      expect(out).toContain(tag);
    }
  });
  it('version helpers', () => {
    expect(parseConfigVersion(out)).toBe(7);
    expect(parseConfigVersion(fx('cluster.conf.clufter-test1.xml'))).toBe(1);
    expect(stripVersion(out)).toBe(stripVersion(renderClusterConf({ ...ctx, version: 8 })));
    expect(parseConfigVersion(renderClusterConf(ctx))).toBe(3); // defaults to viewnumber
  });
  it('no nfs: plain fs ref, no nfslock; one node: no two_node', () => {
    const o = renderClusterConf({ ...ctx, members: [{ id: 1, name: 'solo' }], services: [{ ...ctx.services[0]!, nfs: undefined }] });
    for (const t of ['nfsexport', 'nfsclient', 'nfslock']) expect(o).not.toContain(t);
    expect(o).not.toContain('two_node');
    expect(o).toContain('<fs ref="HA-NFS-fs"/>');
    expect(o).toContain('<clusternode name="solo" nodeid="1">');
  });
  it('escaping and stability', () => {
    const o = renderClusterConf({ ...ctx, cluster: 'a&"<b' });
    expect(o).toContain('<cluster name="a&amp;&quot;&lt;b"');
    expect(renderClusterConf({ ...ctx, version: 7 })).toBe(out);
  });
  it('config_version must be ≥ 1', () => expect(() => renderClusterConf({ ...ctx, viewnumber: 0 })).toThrow());
});
