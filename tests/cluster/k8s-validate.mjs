// Validate every document of a manifest file against the Kubernetes API
// schema (kubernetes-models: the OpenAPI definitions compiled to JSON
// schema), and prove that the validator rejects a broken Job.
import { Job } from "kubernetes-models/batch/v1";
import YAML from "yaml";
import fs from "node:fs";

const docs = YAML.parseAllDocuments(fs.readFileSync(process.argv[2], "utf8"));
let n = 0;
for (const d of docs) {
  if (d.errors.length) throw new Error("YAML: " + d.errors[0].message);
  const obj = d.toJSON();
  if (obj.kind !== "Job") throw new Error("unexpected kind " + obj.kind);
  new Job(obj).validate();
  n++;
}
const bad = docs[0].toJSON();
bad.spec.completionMode = 42;
let rejected = false;
try { new Job(bad).validate(); } catch { rejected = true; }
if (!rejected) throw new Error("the validator accepted a broken Job");
console.log(`validated ${n} Job manifests against the Kubernetes API schema`);
