"""Full-text search of the archive: text renditions, the index, access-filtered queries."""
