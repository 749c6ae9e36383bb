/**
 * A process that opens the blob store configured by its environment (as the
 * worker does), stages 6 MiB (on S3 that is a multipart upload with a part)
 * and then holds the stage open until it is killed. Prints "staged <owner>"
 * once the bytes are in the store.
 */
import { loadConfig } from '../../runtime/config.js';
import { createConfiguredBlobStore } from '../../runtime/configured-blob-store.js';

const store = await createConfiguredBlobStore(loadConfig());
const staged = await store.stage();
await new Promise<void>((resolve, reject) => staged.sink.write(Buffer.alloc(6 * 1024 * 1024, 0x41), (e) => (e ? reject(e) : resolve())));
process.stdout.write('staged\n');
setInterval(() => {}, 60_000);
