# Instance configuration: copied to instance/config.py by `portal init`, which adds a SECRET_KEY.
# Every setting can also be given as an environment variable with the PORTAL_ prefix,
# e.g. PORTAL_DATABASE_URL. The README lists all settings and their defaults.

# DATABASE_URL = "postgresql://portal@127.0.0.1:5432/portal"
# REPORT_TELEPHONE = "0457-12345"
# PUBLIC_BASE_URL = "https://outfalls.example.gov.cn"
