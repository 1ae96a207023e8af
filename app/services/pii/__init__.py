"""Find and mask customers' personal data in a post's text before the post is published."""

from app.services.pii.scanner import PiiSpan, find_personal_data, mask_personal_data

__all__ = ["PiiSpan", "find_personal_data", "mask_personal_data"]

# Design notes
# ------------
# * Pure functions, no I/O: ``find_personal_data`` lists what to warn the
#   author about, ``mask_personal_data`` produces a publishable version.
# * Kinds: phone (Japanese landline/mobile/free-dial, +81), email, postal_code
#   (〒123-4567, 123-4567), policy_number (after 証券番号/契約番号/policy no,
#   or any bare run of 8+ digits), address (a municipality followed by a block
#   number in digits: 渋谷区神宮前1-2-3) and customer_name (山田様, ヤマダさま, 山田殿).
# * Matching runs on a *width-folded* copy of the text that has exactly the
#   same length as the original: full-width digits/letters/punctuation
#   (０-９, Ａ-Ｚ, ＠, －, （）, ：) and half-width katakana are mapped one
#   character to one character (the per-character NFKC result, kept only when
#   it is a single character), and dash-like characters (ー – — ― ...) become
#   "-" only when they sit between two digits (so カタカナのー is untouched).
#   Every regex offset is therefore also an offset into the original text.
#   Whole-string NFKC is *not* used: it changes the length (ｶﾞ -> ガ, № -> No).
# * Digits are always matched as [0-9], never \d: \d would also accept Arabic
#   or Devanagari digits that the folding step does not convert.
# * Several detectors produce candidate spans; on overlap the longest span
#   wins (ties: phone > email > postal_code > policy_number > address >
#   customer_name),
#   so "123-4567" inside a phone number never becomes a postal code.
# * Names are the heuristic part: a regex finds the script run in front of
#   様 / さま / 殿 and plain Python rules (stop lists, honorific prefixes お/ご,
#   what follows 様) decide whether it is a personal name.  False positives
#   only cost the author a warning; the stop lists target the honorific words
#   that praise posts are full of (お客様, 皆様, 担当者様, 同様 ...).
