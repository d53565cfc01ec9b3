// Progressive enhancement shared by every page; pages work without it.
// Forms with data-confirm ask before submitting (the message may name a count, see review.js).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form.getAttribute("data-confirm");
  if (message && !window.confirm(message)) { event.preventDefault(); }
});
