declare module 'espeak-ng' {
  interface EspeakModule {
    FS: { readFile(path: string): Uint8Array };
  }
  /** Runs the espeak-ng command line once, in WebAssembly, with these arguments. */
  export default function ESpeakNg(opts: { arguments: string[] }): Promise<EspeakModule>;
}
