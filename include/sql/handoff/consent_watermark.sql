select max(synced_until) as synced_until from consent_watermarks where source = :source
