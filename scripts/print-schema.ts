import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { buildGatewaySchema, printGatewaySchema } from '../src/graphql/schema';

/** `npm run schema`: writes schema.graphql from the code; `--check` exits 1 when the file has drifted. */
async function main(): Promise<void> {
  const file = path.resolve(__dirname, '..', '..', 'schema.graphql');
  const printed = printGatewaySchema(await buildGatewaySchema());
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current !== printed) {
      console.error('schema.graphql is out of date: run `npm run schema` and commit it');
      process.exit(1);
    }
    console.log('schema.graphql is up to date');
    return;
  }
  fs.writeFileSync(file, printed);
  console.log(`wrote ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
