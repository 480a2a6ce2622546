// Draws images/icon.png (128x128): a ladder on a rounded indigo tile. Run once; the PNG is committed.
import { writeFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';

const SIZE = 128;
const SAMPLES = 4; // per axis, for anti-aliasing

const inRoundedSquare = (x, y, r = 24) => {
  const dx = Math.max(r - x, 0, x - (SIZE - r));
  const dy = Math.max(r - y, 0, y - (SIZE - r));
  return dx * dx + dy * dy <= r * r;
};
// Two rails that lean in towards the top, and five rungs between them.
const railX = (y, side) => 64 + side * (20 + (y - 18) * 0.09);
const onLadder = (x, y) => {
  if (y < 18 || y > 112) return false;
  const left = railX(y, -1);
  const right = railX(y, 1);
  if (Math.abs(x - left) <= 5 || Math.abs(x - right) <= 5) return true;
  return x > left && x < right && [30, 50, 70, 90].some((rung) => Math.abs(y - rung) <= 3.5);
};

function pixel(px, py) {
  let tile = 0;
  let ladder = 0;
  for (let i = 0; i < SAMPLES; i++) {
    for (let j = 0; j < SAMPLES; j++) {
      const x = px + (i + 0.5) / SAMPLES;
      const y = py + (j + 0.5) / SAMPLES;
      if (inRoundedSquare(x, y)) tile++;
      if (onLadder(x, y)) ladder++;
    }
  }
  const n = SAMPLES * SAMPLES;
  const t = py / SIZE; // vertical gradient #312e81 -> #6d28d9
  const bg = [0x31 + (0x6d - 0x31) * t, 0x2e + (0x28 - 0x2e) * t, 0x81 + (0xd9 - 0x81) * t];
  const fg = [0xfb, 0xbf, 0x24]; // amber
  const a = ladder / n;
  return [...bg.map((c, k) => Math.round(c * (1 - a) + fg[k] * a)), Math.round((255 * tile) / n)];
}

const raw = Buffer.alloc((SIZE * 4 + 1) * SIZE);
for (let y = 0; y < SIZE; y++) {
  raw[y * (SIZE * 4 + 1)] = 0; // filter: none
  for (let x = 0; x < SIZE; x++) {
    Buffer.from(pixel(x, y)).copy(raw, y * (SIZE * 4 + 1) + 1 + x * 4);
  }
}

const chunk = (type, data) => {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
};
const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace

writeFileSync(
  new URL('../images/icon.png', import.meta.url),
  Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]),
);
