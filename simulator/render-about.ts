/**
 * `GET /msp/about.php`: the platform's version information, which many
 * clients call first (with Basic auth; X-Requested-With is not required
 * here). The version numbers are the simulator's own.
 */
import { SectionedProducer, type RenderContext } from './body-producer.js';
import type { ChunkWriter } from './chunk-writer.js';

export const ABOUT_VERSIONS = {
  web: '10.38.2.0-1',
  scanner: '13.4.20-1',
  vulnsigs: '2.6.290-2',
} as const;

export class AboutProducer extends SectionedProducer {
  constructor(private readonly ctx: RenderContext) {
    super();
  }

  protected head(w: ChunkWriter): void {
    w.ascii(`<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE ABOUT SYSTEM "${this.ctx.baseUrl}/about.dtd">\n`);
  }

  protected body(w: ChunkWriter): boolean {
    w.ascii(
      '<ABOUT>\n  <API-VERSION MAJOR="1" MINOR="0" />\n' +
        `  <WEB-VERSION>${ABOUT_VERSIONS.web}</WEB-VERSION>\n  <SCANNER-VERSION>${ABOUT_VERSIONS.scanner}</SCANNER-VERSION>\n` +
        `  <VULNSIGS-VERSION>${ABOUT_VERSIONS.vulnsigs}</VULNSIGS-VERSION>\n</ABOUT>\n`,
    );
    return false;
  }

  protected tail(): void {}
}
