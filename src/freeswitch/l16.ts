/**
 * mod_audio_fork's binary frames: raw signed 16-bit little-endian PCM, no header (README: 320 bytes per
 * 20 ms at mono 8k; the first frame may be 640 or 1280 bytes). Decoded byte by byte, so the result does
 * not depend on the host's endianness or on the frame's alignment in the socket buffer.
 */
export function decodeL16LE(bytes: Uint8Array, out: Float32Array, pcm16?: Int16Array): number {
  const n = Math.min(bytes.length >> 1, out.length);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    const s = ((bytes[j]! | (bytes[j + 1]! << 8)) << 16) >> 16;
    out[i] = s / 32768;
    if (pcm16) pcm16[i] = s;
  }
  return n;
}

/** The inverse, for the simulator and tests: [-1, 1] floats to L16 LE (clipped, rounded). */
export function encodeL16LE(samples: Float32Array, start = 0, end = samples.length): Buffer {
  const out = Buffer.alloc((end - start) * 2);
  for (let i = start, j = 0; i < end; i++, j += 2) {
    const s = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768)));
    out.writeInt16LE(s, j);
  }
  return out;
}
