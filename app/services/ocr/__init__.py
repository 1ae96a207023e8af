"""The personal-data check of photos: an image attachment (a customer's letter, postcard or
survey sheet) is read with OCR in the background and the text found goes through the same
guard as a post's text (services/pii). An image with findings, or one not yet checked, is
shown only to its post's author and curators until the author masks the regions or a
curator releases it (docs/compliance.md, "Photos checked for personal data").

- reader.py   Tesseract through pytesseract: is it there, and the words with their boxes
- regions.py  words → lines → the pii scanner → boxes to black out (pure)
- queue.py    the durable queue (one row per image), claimed like every outbox
- drainer.py  the background loop that runs the checks
- review.py   what a viewer may see, the author's mask and a curator's release (audited)
"""
