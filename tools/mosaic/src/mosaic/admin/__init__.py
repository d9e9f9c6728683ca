"""`mosaic admin`: operate a Mosaic home: rotate certificates, show the policy, call services."""
