"""The villages' names each county loaded at intake (villages.loaded), for what eligibility prints: the 审核确认表,
the notices to a household and the public notices (公示, 长期公示)."""
