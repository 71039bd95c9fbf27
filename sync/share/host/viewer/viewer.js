// Carry's SMART Health Link viewer (HL7 SMART Health Cards and Links 1.0.0, the viewer-prefix form
// `<this page>#shlink:/…`). Everything happens in this browser: the link is read from the address's fragment, which
// browsers never send to a server; files are fetched from the link's own URL only and decrypted with WebCrypto
// (JWE compact, alg "dir", enc "A256GCM", optional zip "DEF"). Shared data is only ever put into the page as text
// (textContent), never as markup.
"use strict";

const SCHEME = "shlink:/";
const PATAST = "PATAST";
const PATIENT_STORY = "51855-5";
const FHIR_RENDERED_PDF = "60591-5";

const $ = (id) => document.getElementById(id);

// --- small helpers --------------------------------------------------------------------------------------------

function b64urlBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function utf8(bytes) {
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function when(seconds) {
  const d = new Date(seconds * 1000);
  return new Intl.DateTimeFormat("en-GB", { dateStyle: "long", timeStyle: "short", timeZone: "UTC" }).format(d) + " UTC";
}

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

class Problem extends Error {}

// --- the link -------------------------------------------------------------------------------------------------

function readLink(hash) {
  const at = hash.indexOf(SCHEME);
  if (at < 0) throw new Problem("This page opens a shared health summary, but its address holds no link. Open the whole link or QR code the patient gave you.");
  let data;
  try {
    data = JSON.parse(utf8(b64urlBytes(hash.slice(at + SCHEME.length))));
  } catch (_) {
    throw new Problem("This link is damaged: part of it is missing. Open the whole link or scan the QR code again.");
  }
  if (!data || typeof data !== "object" || typeof data.url !== "string" || typeof data.key !== "string" || data.key.length !== 43) {
    throw new Problem("This link is damaged: it has no address or key. Open the whole link or scan the QR code again.");
  }
  if (typeof data.v === "number" && data.v > 1) {
    throw new Problem(`This link uses version ${data.v} of SMART Health Links, which this viewer cannot open.`);
  }
  let url;
  try { url = new URL(data.url); } catch (_) { url = null; }
  if (!url || !["https:", "http:"].includes(url.protocol)) {
    throw new Problem("This link is damaged: its address is not a web address.");
  }
  const flag = typeof data.flag === "string" ? data.flag : "";
  return { url: data.url, key: data.key, exp: typeof data.exp === "number" ? data.exp : null, flag,
           label: typeof data.label === "string" ? data.label.slice(0, 80) : null };
}

// --- fetching and decrypting ----------------------------------------------------------------------------------

async function request(url, init) {
  try {
    return await fetch(url, { ...init, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" });
  } catch (_) {
    throw new Problem(`The share host at ${new URL(url).host} could not be reached. Check the network connection and try again.`);
  }
}

async function gone(response) {
  let reason = "";
  try { reason = (await response.json()).reason || ""; } catch (_) { /* a host that says nothing */ }
  const sentences = {
    expired: "This link has expired. Ask the patient for a new one.",
    revoked: "The patient has revoked this link. Ask them for a new one if you still need the summary.",
    locked: "This link is locked after too many wrong passcodes. Ask the patient for a new one.",
  };
  return new Problem(sentences[reason] || "This link is not known to its share host: it may have been revoked or have expired. Ask the patient for a new one.");
}

async function refused(response) {
  if (response.status === 404) return gone(response);
  if (response.status === 401) {
    let left = null;
    try { left = (await response.json()).remainingAttempts; } catch (_) { /* no count given */ }
    if (left === 0) return new Problem("That passcode is not right, and no attempts are left: the link is now locked. Ask the patient for a new one.");
    const rest = typeof left === "number" ? ` ${plural(left, "attempt", "attempts")} left.` : "";
    return Object.assign(new Problem(`That passcode is not right.${rest}`), { passcode: true, left });
  }
  if (response.status === 429) return new Problem("The share host is busy. Wait a minute and try again.");
  return new Problem(`The share host could not hand out the summary (error ${response.status}). Try again later.`);
}

async function inflate(bytes, raw) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(raw ? "deflate-raw" : "deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function decryptJwe(compact, keyText) {
  const parts = compact.trim().split(".");
  if (parts.length !== 5) throw new Problem("The shared file is not an encrypted SMART Health Link file.");
  const [protectedB64, encryptedKey, ivB64, cipherB64, tagB64] = parts;
  const header = JSON.parse(utf8(b64urlBytes(protectedB64)));
  if (header.alg !== "dir" || header.enc !== "A256GCM" || encryptedKey !== "") {
    throw new Problem("The shared file is encrypted in a way SMART Health Links do not use.");
  }
  const key = await crypto.subtle.importKey("raw", b64urlBytes(keyText), "AES-GCM", false, ["decrypt"]);
  const cipher = b64urlBytes(cipherB64);
  const tag = b64urlBytes(tagB64);
  const sealed = new Uint8Array(cipher.length + tag.length);
  sealed.set(cipher);
  sealed.set(tag, cipher.length);
  let plain;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: b64urlBytes(ivB64), additionalData: new TextEncoder().encode(protectedB64), tagLength: 128 },
      key, sealed));
  } catch (_) {
    throw new Problem("The summary could not be decrypted: the link's key does not fit its file. Ask the patient for a new link.");
  }
  if (header.zip === "DEF") plain = await inflate(plain, !(plain[0] === 0x78 && plain[1] === 0x9c));
  return { contentType: header.cty || "", text: utf8(plain) };
}

async function healthCardBundles(text) {
  // application/smart-health-card: {"verifiableCredential": [JWS, …]}; each JWS payload is raw-DEFLATEd JSON.
  const out = [];
  for (const jws of JSON.parse(text).verifiableCredential || []) {
    const payload = await inflate(b64urlBytes(String(jws).split(".")[1] || ""), true);
    const bundle = JSON.parse(utf8(payload))?.vc?.credentialSubject?.fhirBundle;
    if (bundle) out.push(bundle);
  }
  return out;
}

async function retrieve(link, recipient, passcode) {
  const files = [];
  if (link.flag.includes("U")) {
    const url = new URL(link.url);
    url.searchParams.set("recipient", recipient);
    const response = await request(url.toString(), { method: "GET" });
    if (!response.ok) throw await refused(response);
    files.push(await response.text());
  } else {
    const body = { recipient };
    if (link.flag.includes("P")) body.passcode = passcode;
    const response = await request(link.url, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) throw await refused(response);
    const manifest = await response.json();
    for (const file of manifest.files || []) {
      if (typeof file.embedded === "string") { files.push(file.embedded); continue; }
      if (typeof file.location !== "string") continue;
      const fetched = await request(file.location, { method: "GET" });
      if (!fetched.ok) throw await refused(fetched);
      files.push(await fetched.text());
    }
  }
  const bundles = [];
  for (const jwe of files) {
    const { contentType, text } = await decryptJwe(jwe, link.key);
    if (contentType === "application/smart-health-card") bundles.push(...await healthCardBundles(text));
    else if (contentType === "application/fhir+json" || contentType === "") {
      const resource = JSON.parse(text);
      if (resource && resource.resourceType === "Bundle") bundles.push(resource);
    }
  }
  if (!bundles.length) throw new Problem("The link held no summary this viewer can show.");
  return bundles;
}

// --- describing resources (the same choices as sync/share/summary/describe.py, in the doctor's browser) -------------------

function conceptText(c) {
  if (!c || typeof c !== "object") return "";
  if (typeof c.text === "string" && c.text.trim()) return c.text.trim();
  for (const coding of c.coding || []) if (coding && typeof coding.display === "string" && coding.display.trim()) return coding.display.trim();
  for (const coding of c.coding || []) if (coding && typeof coding.code === "string") return coding.code;
  return "";
}

function statusCode(c) {
  if (c && typeof c === "object") {
    for (const coding of c.coding || []) if (coding && typeof coding.code === "string") return coding.code;
    return conceptText(c);
  }
  return typeof c === "string" ? c : "";
}

function day(value) {
  return typeof value === "string" ? value.slice(0, 10) : "";
}

function dateOf(r, ...names) {
  for (const name of names) {
    for (const [key, value] of Object.entries(r)) {
      if (!key.startsWith(name)) continue;
      if (typeof value === "string") return key === `${name}String` ? value : day(value);
      if (value && typeof value === "object") {
        if (typeof (value.start || value.end) === "string") return day(value.start || value.end);
        if ("value" in value) return `age ${value.value}`;
      }
    }
  }
  return "";
}

function quantity(q) {
  if (!q || typeof q !== "object") return "";
  const value = typeof q.value === "number" ? String(Math.round(q.value * 100) / 100) : (q.value ?? "");
  return `${q.comparator || ""}${value} ${q.unit || q.code || ""}`.trim();
}

function valueOf(h) {
  for (const [key, value] of Object.entries(h)) {
    if (!key.startsWith("value")) continue;
    const kind = key.slice(5);
    if (kind === "Quantity") return quantity(value);
    if (kind === "CodeableConcept") return conceptText(value);
    if (kind === "Range") return `${quantity(value.low)} - ${quantity(value.high)}`.replace(/^ - | - $/g, "");
    if (kind === "Ratio") return `${quantity(value.numerator)} / ${quantity(value.denominator)}`;
    if (kind === "Boolean") return value ? "yes" : "no";
    if (["String", "Integer", "DateTime", "Time"].includes(kind)) return String(value);
  }
  if (h.dataAbsentReason) return `no value (${conceptText(h.dataAbsentReason)})`;
  return "";
}

function medicationName(r, lookup) {
  if (r.medicationCodeableConcept) return conceptText(r.medicationCodeableConcept);
  const ref = r.medicationReference;
  if (ref) {
    const target = typeof ref.reference === "string" ? lookup(ref.reference) : null;
    return (target && conceptText(target.code)) || ref.display || "Medication";
  }
  return "Medication";
}

function dosage(list) {
  for (const d of list || []) {
    if (d && (d.text || d.patientInstruction)) return d.text || d.patientInstruction;
  }
  return "";
}

function display(ref) {
  return ref && typeof ref === "object" && typeof ref.display === "string" ? ref.display : "";
}

function sourceOf(r, lookup) {
  const named = (ref) => {
    if (!ref || typeof ref !== "object") return "";
    const target = typeof ref.reference === "string" ? lookup(ref.reference) : null;
    if (target) {
      if (target.resourceType === "Organization" && target.name) return target.name;
      if (Array.isArray(target.name) && target.name[0]) return target.name[0].text || [...(target.name[0].given || []), target.name[0].family || ""].join(" ").trim();
    }
    return display(ref);
  };
  const performer = (r.performer || [])[0];
  return named(r.recorder) || named(r.asserter) || named(r.requester) || named(performer && (performer.actor || performer))
    || named(r.author && r.author[0]) || (r.meta && typeof r.meta.source === "string" ? r.meta.source : "");
}

function describe(r, lookup) {
  switch (r.resourceType) {
    case "Condition":
      return { item: conceptText(r.code) || "Condition", details: [conceptText(r.severity)].filter(Boolean).join(", "),
               status: statusCode(r.clinicalStatus), date: dateOf(r, "onset") || day(r.recordedDate) };
    case "AllergyIntolerance": {
      const parts = [(r.category || []).join(", ")];
      if (r.criticality) parts.push(`criticality ${r.criticality}`);
      for (const reaction of r.reaction || []) {
        const shown = (reaction.manifestation || []).map(conceptText).filter(Boolean);
        if (shown.length) parts.push(`reaction: ${shown.join(", ")}`);
      }
      return { item: conceptText(r.code) || "Allergy or intolerance", details: parts.filter(Boolean).join("; "),
               status: statusCode(r.clinicalStatus), date: dateOf(r, "onset") || day(r.recordedDate),
               critical: r.criticality === "high" };
    }
    case "MedicationRequest":
      return { item: medicationName(r, lookup), details: dosage(r.dosageInstruction), status: r.status || "", date: day(r.authoredOn) };
    case "MedicationStatement":
      return { item: medicationName(r, lookup), details: dosage(r.dosage), status: r.status || "",
               date: dateOf(r, "effective") || day(r.dateAsserted) };
    case "Immunization": {
      const doses = (r.protocolApplied || []).map((p) => p.doseNumberPositiveInt || p.doseNumberString).filter(Boolean).map((d) => `dose ${d}`);
      return { item: conceptText(r.vaccineCode) || "Vaccine", details: doses.join(", "), status: r.status || "", date: dateOf(r, "occurrence") };
    }
    case "Observation": {
      let value = valueOf(r);
      if (!value && Array.isArray(r.component)) value = r.component.map((c) => `${conceptText(c.code)}: ${valueOf(c)}`).join("; ");
      const ranges = (r.referenceRange || []).map((x) => x.text || `${quantity(x.low)} - ${quantity(x.high)}`.replace(/^ - | - $/g, "")).filter(Boolean);
      const flags = (r.interpretation || []).map(conceptText).filter(Boolean);
      return { item: conceptText(r.code) || "Observation", details: value, flags: flags.join(", "),
               range: ranges.join("; "), status: r.status || "", date: dateOf(r, "effective") || day(r.issued) };
    }
    case "DiagnosticReport":
      return { item: conceptText(r.code) || "Report", details: r.conclusion || (r.result ? plural(r.result.length, "result", "results") : ""),
               status: r.status || "", date: dateOf(r, "effective") || day(r.issued) };
    case "Procedure":
      return { item: conceptText(r.code) || "Procedure", details: (r.bodySite || []).map(conceptText).join(", "),
               status: r.status || "", date: dateOf(r, "performed") };
    case "DocumentReference":
      return { item: r.description || conceptText(r.type) || "Document", details: conceptText((r.category || [])[0]),
               status: r.status || "", date: day(r.date) };
    default:
      return { item: conceptText(r.code) || conceptText(r.type) || r.resourceType || "Resource", details: "",
               status: r.status || "", date: dateOf(r, "effective", "occurrence", "performed", "date") };
  }
}

function patientWritten(r, patientRefs) {
  // A FHIR-rendered PDF (LOINC 60591-5) is the patient's by authorship (PATAST) but shows the portals' records:
  // calling it written by the patient would make a doctor doubt records that are not.
  if (r.resourceType === "DocumentReference" && (r.type?.coding || []).some((c) => c.code === FHIR_RENDERED_PDF)) return false;
  const security = (r.meta && r.meta.security) || [];
  if (security.some((c) => c && c.code === PATAST)) return true;
  if (r.resourceType === "DocumentReference" && (r.type?.coding || []).some((c) => c.code === PATIENT_STORY)) return true;
  const by = [r.asserter, r.recorder, r.informationSource, ...(r.author || [])].filter(Boolean);
  return by.some((ref) => typeof ref.reference === "string" && patientRefs.has(ref.reference));
}

// --- which sections --------------------------------------------------------------------------------------------

const GROUPS = [
  ["Problems", (r) => r.resourceType === "Condition"],
  ["Medications", (r) => ["MedicationRequest", "MedicationStatement", "MedicationAdministration", "MedicationDispense"].includes(r.resourceType)],
  ["Allergies and intolerances", (r) => r.resourceType === "AllergyIntolerance"],
  ["Immunizations", (r) => r.resourceType === "Immunization"],
  ["Vital signs", (r) => r.resourceType === "Observation" && categories(r).has("vital-signs")],
  ["Results", (r) => r.resourceType === "DiagnosticReport" || r.resourceType === "Observation"],
  ["Procedures", (r) => r.resourceType === "Procedure"],
  ["Documents", (r) => r.resourceType === "DocumentReference"],
];
const SUPPORTING = new Set(["Patient", "Composition", "Provenance", "Practitioner", "PractitionerRole", "Organization", "Medication", "Location", "Device", "Specimen"]);

function categories(r) {
  const out = new Set();
  for (const c of r.category || []) for (const coding of (c && c.coding) || []) out.add(coding.code);
  return out;
}

function sections(bundle, index) {
  const composition = (bundle.entry || []).map((e) => e.resource).find((r) => r && r.resourceType === "Composition");
  if (bundle.type === "document" && composition) {
    return (composition.section || []).map((s) => ({
      title: s.title || conceptText(s.code) || "Section",
      resources: (s.entry || []).map((e) => index.lookup(e.reference)).filter(Boolean),
      empty: s.emptyReason ? conceptText(s.emptyReason) : "",
    }));
  }
  const listed = (bundle.entry || []).map((e) => e.resource).filter((r) => r && !SUPPORTING.has(r.resourceType));
  const out = [];
  const taken = new Set();
  for (const [title, test] of GROUPS) {
    const resources = listed.filter((r) => !taken.has(r) && test(r));
    resources.forEach((r) => taken.add(r));
    if (resources.length) out.push({ title, resources, empty: "" });
  }
  const rest = listed.filter((r) => !taken.has(r));
  if (rest.length) out.push({ title: "Other information", resources: rest, empty: "" });
  return out;
}

function indexBundle(bundle) {
  const byRef = new Map();
  for (const entry of bundle.entry || []) {
    const r = entry.resource;
    if (!r) continue;
    if (entry.fullUrl) byRef.set(entry.fullUrl, r);
    if (r.id) byRef.set(`${r.resourceType}/${r.id}`, r);
  }
  // Where each entry came from: a Provenance naming a source (its agent) for the entries it targets.
  const origins = new Map();
  for (const entry of bundle.entry || []) {
    const r = entry.resource;
    if (!r || r.resourceType !== "Provenance") continue;
    const name = (r.agent || []).map((a) => a && a.who && a.who.display).find((d) => typeof d === "string" && d.trim());
    if (!name) continue;
    for (const t of r.target || []) {
      const target = t && typeof t.reference === "string" ? byRef.get(t.reference) : null;
      if (target && !origins.has(target)) origins.set(target, name.trim());
    }
  }
  return { lookup: (ref) => (typeof ref === "string" ? byRef.get(ref) || byRef.get(ref.split("/").slice(-2).join("/")) || null : null),
           origin: (r) => origins.get(r) || "" };
}

// --- rendering -------------------------------------------------------------------------------------------------

// Whole years from a FHIR date (YYYY-MM-DD) to `today`, as a doctor reads age off a chart; null for a partial date.
function ageOn(birthDate, today) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  let years = today.getUTCFullYear() - y;
  if (today.getUTCMonth() + 1 < mo || (today.getUTCMonth() + 1 === mo && today.getUTCDate() < d)) years -= 1;
  return years >= 0 && years < 150 ? years : null;
}

function patientOf(bundle) {
  return (bundle.entry || []).map((e) => e.resource).find((r) => r && r.resourceType === "Patient") || null;
}

function personName(p) {
  const names = (p && p.name) || [];
  const name = names.find((n) => n.use === "official") || names[0];
  if (!name) return "Unnamed patient";
  return name.text || [...(name.given || []), name.family || ""].join(" ").trim() || "Unnamed patient";
}

function save(name, type, data) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = el("a", null, { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function fileStem(text) {
  return text.normalize("NFKD").replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").toLowerCase() || "patient";
}

function renderTable(section, index, patientRefs) {
  const wrap = el("div", null, { class: "table-wrap" });
  const table = el("table");
  table.append(el("caption", plural(section.resources.length, "entry", "entries")));
  const results = section.resources.some((r) => r.resourceType === "Observation");
  const heads = results ? ["Item", "Value", "Reference range", "Date", "Source"] : ["Item", "Details", "Status", "Date", "Source"];
  const head = el("tr");
  for (const h of heads) head.append(el("th", h, { scope: "col" }));
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const body = el("tbody");
  for (const r of section.resources) {
    const row = describe(r, index.lookup);
    const tr = el("tr");
    const item = el("td", null, { class: "item" });
    item.append(el("span", row.item));
    if (patientWritten(r, patientRefs)) item.append(el("span", "Written by the patient", { class: "patient-written" }));
    tr.append(item);
    const details = el("td", [row.details, row.flags].filter(Boolean).join(" · "), { "data-label": heads[1] });
    if (row.critical) details.classList.add("critical");
    tr.append(details);
    tr.append(el("td", results ? row.range || "" : row.status, { "data-label": heads[2] }));
    tr.append(el("td", row.date, { "data-label": "Date" }));
    tr.append(el("td", index.origin(r) || sourceOf(r, index.lookup), { "data-label": "Source" }));
    body.append(tr);
    if (r.resourceType === "DocumentReference") {
      for (const content of r.content || []) {
        const att = content.attachment || {};
        if (att.contentType === "application/pdf" && typeof att.data === "string") {
          const button = el("button", "Save the PDF", { type: "button", class: "secondary", "aria-label": `Save the PDF: ${row.item}` });
          button.addEventListener("click", () => save(`${fileStem(row.item)}.pdf`, "application/pdf", b64urlBytes(att.data.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""))));
          details.append(document.createElement("br"), button);
        }
      }
    }
  }
  table.append(body);
  wrap.append(table);
  return wrap;
}

function render(bundles, link) {
  const article = $("summary");
  article.replaceChildren();
  const first = bundles[0];
  const patient = patientOf(first);
  const name = personName(patient);
  const banner = el("header", null, { class: "banner" });
  banner.append(el("h1", name, { id: "patient-name" }));
  const facts = [];
  if (patient && patient.birthDate) {
    const years = ageOn(patient.birthDate, new Date());
    facts.push(`Born ${patient.birthDate}` + (years === null ? "" : ` (aged ${years})`));
  }
  if (patient && patient.gender) facts.push(`Sex: ${patient.gender}`);
  banner.append(el("p", facts.join(" · ") || "Birth date and sex not given", { id: "patient-facts" }));
  const made = first.timestamp ? `Summary made ${when(Date.parse(first.timestamp) / 1000)}` : "";
  const expires = link.exp ? `link expires ${when(link.exp)}` : "the link does not expire";
  banner.append(el("p", [made, expires].filter(Boolean).join("; ") + ".", { class: "muted" }));
  const kind = first.type === "collection" ? "Patient-shared records (clinic check-in)" : "International Patient Summary";
  banner.append(el("p", kind, { class: "muted" }));
  article.append(banner);

  const actions = el("div", null, { class: "actions" });
  const saveButton = el("button", "Save FHIR JSON", { type: "button", class: "secondary" });
  saveButton.addEventListener("click", () => {
    const data = bundles.length === 1 ? bundles[0] : bundles;
    save(`${fileStem(name)}-health-summary.json`, "application/fhir+json", JSON.stringify(data, null, 2));
  });
  const printButton = el("button", "Print", { type: "button", class: "secondary" });
  printButton.addEventListener("click", () => window.print());
  actions.append(saveButton, printButton);
  article.append(actions);

  for (const bundle of bundles) {
    const index = indexBundle(bundle);
    const me = patientOf(bundle);
    const patientRefs = new Set((bundle.entry || []).filter((e) => e.resource === me).map((e) => e.fullUrl));
    if (me && me.id) patientRefs.add(`Patient/${me.id}`);
    for (const section of sections(bundle, index)) {
      const id = `section-${article.querySelectorAll("section").length + 1}`;
      const block = el("section", null, { "aria-labelledby": id });
      block.append(el("h2", section.title, { id }));
      if (section.resources.length) block.append(renderTable(section, index, patientRefs));
      else block.append(el("p", section.empty || "Nothing recorded.", { class: "muted" }));
      article.append(block);
    }
  }
  article.hidden = false;
  document.title = `${name} · shared health summary`;
}

// --- the page ---------------------------------------------------------------------------------------------------

function showProblem(text) {
  const p = $("problem");
  p.textContent = text;
  p.hidden = !text;
}

function start() {
  let link;
  try {
    link = readLink(window.location.hash);
  } catch (err) {
    showProblem(err instanceof Problem ? err.message : "This link cannot be read.");
    return;
  }
  if (link.label) { $("label").textContent = link.label; $("label").hidden = false; }
  if (link.exp) { $("expiry").textContent = `The link expires ${when(link.exp)}.`; $("expiry").hidden = false; }
  if (link.exp && Date.now() / 1000 >= link.exp) {
    showProblem("This link has expired. Ask the patient for a new one.");
    return;
  }
  const form = $("open-form");
  const needsPasscode = link.flag.includes("P");
  $("passcode-field").hidden = !needsPasscode;
  $("passcode").required = needsPasscode;
  form.hidden = false;
  $("recipient").focus();
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const recipient = $("recipient").value.trim();
    const passcode = $("passcode").value;
    if (!recipient) { showProblem("Type your name: the patient sees who opened the link."); $("recipient").focus(); return; }
    if (needsPasscode && !passcode) { showProblem("Type the passcode the patient gave you."); $("passcode").focus(); return; }
    busy = true;
    $("open").disabled = true;
    showProblem("");
    $("status").textContent = "Opening the summary…";
    try {
      const bundles = await retrieve(link, recipient, passcode);
      render(bundles, link);
      $("status").textContent = "";
      $("intro").hidden = true;
      $("patient-name").setAttribute("tabindex", "-1");
      $("patient-name").focus();
    } catch (err) {
      $("status").textContent = "";
      showProblem(err instanceof Problem ? err.message : "The summary could not be shown: the shared file is not readable FHIR.");
      if (err && err.passcode) {
        if (typeof err.left === "number") $("attempts").textContent = `${plural(err.left, "attempt", "attempts")} left before the link locks.`;
        $("passcode").select();
        $("passcode").focus();
      }
    } finally {
      busy = false;
      $("open").disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", start);
// Another link opened in the same tab changes only the fragment: start again from a clean page.
window.addEventListener("hashchange", () => window.location.reload());
