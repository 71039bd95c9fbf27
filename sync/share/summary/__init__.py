"""What a share holds, built from the patient's resources and checked before it leaves.

- ips: the International Patient Summary document (sections, entries, the checker)
- ktc: the CMS "Kill the Clipboard" profile of it, with the rendered PDF attached
- describe: one line per resource, as the PDF, the Share screen and the viewer show it
- collection: the rows of a share that is a plain collection of resources
- provenance: where each entry came from (Provenance resources)
- selection: the sections a patient shares unless they choose otherwise
- writeback: the resources a patient may send back to a portal that accepts them
"""
