"""The development trace page: recent traces kept in memory, shown as waterfalls."""
