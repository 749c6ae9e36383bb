/** Extracts a zip (a Buffer) into a folder with yauzl, as an auditor's unzip tool would. */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

export async function unzipTo(zip: Buffer, dir: string): Promise<string[]> {
  const zipfile = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  const names: string[] = [];
  await new Promise<void>((resolve, reject) => {
    zipfile.on('error', reject);
    zipfile.on('end', resolve);
    zipfile.on('entry', (entry: yauzl.Entry) => {
      const target = path.join(dir, entry.fileName);
      if (!target.startsWith(dir + path.sep)) return reject(new Error(`entry ${entry.fileName} escapes the folder`));
      names.push(entry.fileName);
      zipfile.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        fs.mkdir(path.dirname(target), { recursive: true })
          .then(() => pipeline(stream, createWriteStream(target)))
          .then(() => zipfile.readEntry(), reject);
      });
    });
    zipfile.readEntry();
  });
  return names;
}
