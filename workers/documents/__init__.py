"""Documents as evidence: PDF, DOCX, XLSX, PPTX, ODT and ODS, told apart by their content.

The pipeline runs these in order. A PDF's job opens it once
(:func:`~workers.documents.identify.open_pdf`): the same :class:`pikepdf.Pdf` is checked,
read for its facts, sanitised and optimised in place, then saved once as the stored copy,
which pdfium opens once for the preview and the text (:mod:`workers.documents.pages`). Each
phase keeps an entry point that takes a path. Office packages are opened by each phase.

- :func:`~workers.documents.identify.identify_document` names the format or refuses the file
  (:class:`~bukti.errors.RejectedError`): password-protected, damaged, macro-enabled, legacy
  binary Office, or a zip bomb (:mod:`workers.documents.zip_safety` reads every package);
- :func:`~workers.documents.sanitise.sanitise_pdf` removes what can run or hide: JavaScript,
  launch and submit actions, automatic actions, embedded files, rich media, XFA forms;
- :func:`~workers.documents.optimise.optimise_document` makes the stored copy smaller where it
  can without loss of legibility;
- :func:`~workers.documents.preview.render_preview` draws the first page for reviewers
  (pdfium; LibreOffice for Office files when it is installed), with the perceptual hashes of
  that picture for scans;
- :func:`~workers.documents.facts.document_facts` and
  :func:`~workers.documents.text.document_text` read the metadata and the text.

XML is parsed with defusedxml (:mod:`workers.documents.safe_xml`), which refuses entity
expansion (billion laughs) and external entities.
"""
