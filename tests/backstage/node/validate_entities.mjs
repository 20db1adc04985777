// Validate Backstage entities with Backstage's own catalog model (@backstage/catalog-model):
// the entity policies the catalog applies to every entity it reads, then the validator of the
// entity's kind.
//
//   node validate_entities.mjs MODULES_DIR < entities.json > results.json
//
// MODULES_DIR holds node_modules/@backstage/catalog-model (npm ci of this folder's lock file).
// Input: a JSON array of entities. Output: a JSON array, per entity {ref, ok, errors}.
// Exit status 0 when every entity is valid, 1 when one is not, 2 on bad usage.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const modulesDir = process.argv[2];
if (!modulesDir) {
  process.stderr.write('usage: node validate_entities.mjs MODULES_DIR < entities.json\n');
  process.exit(2);
}
const require = createRequire(join(resolve(modulesDir), 'package.json'));
const model = require('@backstage/catalog-model');

const policy = model.EntityPolicies.allOf([
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
  new model.SchemaValidEntityPolicy(),
]);
const validators = {
  api: model.apiEntityV1alpha1Validator,
  component: model.componentEntityV1alpha1Validator,
  domain: model.domainEntityV1alpha1Validator,
  group: model.groupEntityV1alpha1Validator,
  location: model.locationEntityV1alpha1Validator,
  resource: model.resourceEntityV1alpha1Validator,
  system: model.systemEntityV1alpha1Validator,
  user: model.userEntityV1alpha1Validator,
};

function refOf(entity) {
  const kind = String(entity?.kind ?? '?').toLowerCase();
  const namespace = entity?.metadata?.namespace ?? 'default';
  return `${kind}:${namespace}/${entity?.metadata?.name ?? '?'}`;
}

async function validate(entity) {
  const errors = [];
  try {
    // enforce() may return a changed copy (the default namespace): validate what it returns.
    const enforced = (await policy.enforce(structuredClone(entity))) ?? entity;
    const validator = validators[String(enforced.kind).toLowerCase()];
    if (!validator) {
      errors.push(`no validator for kind ${enforced.kind}`);
    } else if (!(await validator.check(enforced))) {
      errors.push(`${validator.constructor?.name ?? 'validator'} did not recognise the entity`);
    }
  } catch (error) {
    errors.push(String(error?.message ?? error));
  }
  return { ref: refOf(entity), ok: errors.length === 0, errors };
}

const entities = JSON.parse(readFileSync(0, 'utf8'));
if (!Array.isArray(entities)) {
  process.stderr.write('expected a JSON array of entities on stdin\n');
  process.exit(2);
}
const results = [];
for (const entity of entities) {
  results.push(await validate(entity));
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
process.exit(results.every((result) => result.ok) ? 0 : 1);
