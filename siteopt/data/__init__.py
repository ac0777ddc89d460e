"""The validated instance, its fiber network, the domain rules, validation and overrides."""
