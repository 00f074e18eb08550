// Counts length-prefixed gRPC messages in a byte stream as it passes, without buffering it.

export class GrpcMessageCounter {
  /** Complete message prefixes seen so far. */
  messages = 0;
  private headerRead = 0;
  private length = 0;
  private bodyLeft = 0;

  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, n - i);
        this.bodyLeft -= take;
        i += take;
        continue;
      }
      const byte = chunk[i++] as number;
      // Bytes 1-4 of the prefix are the big-endian length; byte 0 is the compressed flag.
      if (this.headerRead > 0) this.length = this.length * 256 + byte;
      this.headerRead++;
      if (this.headerRead === 5) {
        this.messages++;
        this.bodyLeft = this.length;
        this.headerRead = 0;
        this.length = 0;
      }
    }
  }
}
