"""Platform settings pages: API tokens and webhooks of the platforms the user is a member of."""
