/** Entry of the benchmark's worker bundle: the production worker process. */
import { runWorkerProcess } from '../worker.js';

await runWorkerProcess();
