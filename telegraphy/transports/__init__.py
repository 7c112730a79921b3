"""Transport plugins shipped with Telegraphy live here once installed (sources: plugins/)."""
