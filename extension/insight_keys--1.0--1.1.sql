-- insight_keys 1.0 -> 1.1. A fresh install runs 1.0 and then this script, so
-- an upgraded database and a new one have the same catalog (tested by
-- tests/tap/t/*upgrade*). Each section belongs to one feature.
\echo Use "ALTER EXTENSION insight_keys UPDATE TO '1.1'" to load this file. \quit
