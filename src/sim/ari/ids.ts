/**
 * Channel ids and names as Asterisk makes them: unique ids `<boot seconds>.<counter>` (so a restarted
 * simulator never reuses an id), PJSIP names with an 8-digit hex counter, UnicastRTP names with a
 * pointer-like suffix.
 */
export class IdSource {
  #epoch: number;
  #counter = 0;
  #pjsip = 0;
  #snoop = 0;
  #local = 0;
  #pointer = 0x7f00d0012820;

  constructor() {
    this.#epoch = Math.floor(Date.now() / 1000);
  }

  /** After a restart: a later epoch than any id handed out before, counters from zero. */
  reboot(): void {
    this.#epoch = Math.max(Math.floor(Date.now() / 1000), this.#epoch + 1);
    this.#counter = 0;
    this.#pjsip = 0;
    this.#snoop = 0;
    this.#local = 0;
  }

  uniqueId(): string {
    return `${this.#epoch}.${this.#counter++}`;
  }

  pjsipName(resource: string): string {
    return `PJSIP/${resource}-${hex8(this.#pjsip++)}`;
  }

  /** The two halves of one Local channel: `;1` (the caller's side) and `;2` (runs the dialplan). */
  localNames(endpoint: string): [string, string] {
    const base = `Local/${endpoint}-${hex8(this.#local++)}`;
    return [`${base};1`, `${base};2`];
  }

  snoopName(targetId: string): string {
    return `Snoop/${targetId}-${hex8(this.#snoop++)}`;
  }

  announcerName(): string {
    return `Announcer/ARI_MOH-${hex8(this.#local++)};2`;
  }

  unicastRtpName(hostPort: string): string {
    this.#pointer += 0x1f20;
    return `UnicastRTP/${hostPort}-0x${this.#pointer.toString(16)}`;
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
