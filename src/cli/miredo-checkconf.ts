/** miredo-checkconf: see src/config/checkconf.ts. */
import { runCheckconf } from '../config/checkconf.js';

process.exitCode = await runCheckconf(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
