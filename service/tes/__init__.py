"""GA4GH TES v1.1: a second front door onto ws's cluster runs (docs/tes.md).

models (the documents), paths (container paths, file:// URLs and roots), plan (a
task checked and turned into what its job runs), runner (the job's side), states
and views (what GET answers), index (the task table), tasks (create, find,
list, cancel)."""
