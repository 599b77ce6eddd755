import { createHmac } from 'node:crypto';

/*
 * Bytes as a kernel's iopub PUB socket sends them over ZMTP 3.1 (rfc.zeromq.org/spec/37):
 * the greeting, a READY command, then one multipart message per Jupyter message, framed as
 * jupyter-client's Session.send does: topic, <IDS|MSG>, HMAC-SHA256, header, parent_header,
 * metadata, content, buffers.
 */

const KEY = 'a0436f6c-1916-498b-8eb9-e81ab9368e84';

export function greeting(): Buffer {
  const g = Buffer.alloc(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3; // major
  g[11] = 1; // minor
  g.write('NULL', 12, 'latin1'); // mechanism, NUL-padded to 20 bytes; as-server 0 and the filler stay zero
  return g;
}

export function frame(body: Buffer, { more = false, command = false } = {}): Buffer {
  const long = body.length > 255;
  const flags = (more ? 0x01 : 0) | (long ? 0x02 : 0) | (command ? 0x04 : 0);
  const size = Buffer.alloc(long ? 8 : 1);
  if (long) size.writeBigUInt64BE(BigInt(body.length));
  else size[0] = body.length;
  return Buffer.concat([Buffer.from([flags]), size, body]);
}

export function ready(): Buffer {
  const name = Buffer.from('Socket-Type');
  const value = Buffer.from('PUB');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(value.length);
  return frame(Buffer.concat([Buffer.from([5]), Buffer.from('READY'), Buffer.from([name.length]), name, len, value]), {
    command: true
  });
}

let seq = 0;
/** One Jupyter message on iopub; `spaced` writes JSON the way Python's json.dumps does by default. */
export function message(msgType: string, content: object, { spaced = false, buffers = [] as Buffer[] } = {}): Buffer {
  const json = (o: object) => Buffer.from(spaced ? JSON.stringify(o).replace(/([:,])/g, '$1 ') : JSON.stringify(o));
  const header = json({
    msg_id: `m${++seq}`,
    msg_type: msgType,
    username: 'u',
    session: 's',
    date: '2024-05-01T10:00:00.000000Z',
    version: '5.3'
  });
  const parent = json({ msg_id: 'p1', msg_type: 'execute_request' });
  const metadata = json({});
  const body = json(content);
  const hmac = createHmac('sha256', KEY);
  for (const part of [header, parent, metadata, body]) hmac.update(part);
  const parts = [
    Buffer.from(`kernel.5f1c.${msgType}`),
    Buffer.from('<IDS|MSG>'),
    Buffer.from(hmac.digest('hex')),
    header,
    parent,
    metadata,
    body,
    ...buffers
  ];
  return Buffer.concat(parts.map((p, i) => frame(p, { more: i < parts.length - 1 })));
}

export const status = (state: string, spaced = false) => message('status', { execution_state: state }, { spaced });
